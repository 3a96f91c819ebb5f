package live

import (
	"syscall"

	"golang.org/x/sys/unix"
)

const reusePortSupported = true

// reusePortControl lets several sockets bind one UDP port (SO_REUSEPORT).
func reusePortControl(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
