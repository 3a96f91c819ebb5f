package live

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pion/ice/v4"
)

// shardedUDPConn is one UDP address served by several sockets bound with
// SO_REUSEPORT. The kernel spreads incoming packets over the sockets and
// shardedUDPConn merges them into one stream for the ICE mux; outgoing
// packets go out through the socket chosen by their destination, so each
// peer's packets stay in order while different viewers' writers no longer
// queue on one socket's lock. (On loopback each send also runs the
// receiver's side of the stack, which makes that lock the bottleneck of a
// busy single socket.)
type shardedUDPConn struct {
	socks  []*net.UDPConn
	seed   maphash.Seed
	in     chan shardPacket
	pool   sync.Pool
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

type shardPacket struct {
	buf  *[]byte
	n    int
	addr netip.AddrPort
}

var (
	_ net.PacketConn           = (*shardedUDPConn)(nil)
	_ ice.AddrPortReaderWriter = (*shardedUDPConn)(nil)
)

const shardReadSize = 1500

// listenSharded binds n sockets to addr; with n == 1, or where SO_REUSEPORT
// is unavailable, it is a plain socket behind the same interface.
func listenSharded(addr netip.AddrPort, n, bufSize int) (*shardedUDPConn, error) {
	if !reusePortSupported {
		n = 1
	}
	c := &shardedUDPConn{seed: maphash.MakeSeed(), in: make(chan shardPacket, 1024), closed: make(chan struct{})}
	c.pool.New = func() any { b := make([]byte, shardReadSize); return &b }
	network := "udp4"
	if addr.Addr().Is6() {
		network = "udp6"
	}
	lc := net.ListenConfig{}
	if n > 1 {
		// Any process of the same user could join a SO_REUSEPORT group
		// and take a share of our packets. Bind once without it first, so
		// a port already in use (say, by a second server started with the
		// same flags) fails here as it would without sharding; a server
		// started after us fails the same way against our group.
		probe, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(addr))
		if err != nil {
			return nil, err
		}
		_ = probe.Close()
		lc.Control = reusePortControl
	}
	for range n {
		pc, err := lc.ListenPacket(context.Background(), network, addr.String())
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		u := pc.(*net.UDPConn)
		_ = u.SetReadBuffer(bufSize)
		_ = u.SetWriteBuffer(bufSize)
		c.socks = append(c.socks, u)
	}
	for _, s := range c.socks {
		c.wg.Add(1)
		go c.read(s)
	}
	return c, nil
}

func (c *shardedUDPConn) read(s *net.UDPConn) {
	defer c.wg.Done()
	for {
		buf := c.pool.Get().(*[]byte)
		n, addr, err := s.ReadFromUDPAddrPort(*buf)
		if err != nil {
			c.pool.Put(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP errors and the like: keep reading
		}
		select {
		case c.in <- shardPacket{buf: buf, n: n, addr: addr}:
		case <-c.closed:
			return
		}
	}
}

// ReadFromAddrPort implements ice.AddrPortReaderWriter.
func (c *shardedUDPConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case p := <-c.in:
		n := copy(b, (*p.buf)[:p.n])
		c.pool.Put(p.buf)
		return n, p.addr, nil
	case <-c.closed:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

// WriteToAddrPort implements ice.AddrPortReaderWriter.
func (c *shardedUDPConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.sock(addr).WriteToUDPAddrPort(b, addr)
}

func (c *shardedUDPConn) sock(addr netip.AddrPort) *net.UDPConn {
	if len(c.socks) == 1 {
		return c.socks[0]
	}
	h := maphash.Comparable(c.seed, addr)
	return c.socks[h%uint64(len(c.socks))]
}

// ReadFrom implements net.PacketConn.
func (c *shardedUDPConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.ReadFromAddrPort(b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(addr), nil
}

// WriteTo implements net.PacketConn.
func (c *shardedUDPConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("live: write to %T, want *net.UDPAddr", addr)
	}
	return c.WriteToAddrPort(b, ua.AddrPort())
}

// Close implements net.PacketConn.
func (c *shardedUDPConn) Close() error {
	var errs []error
	c.once.Do(func() {
		close(c.closed)
		for _, s := range c.socks {
			errs = append(errs, s.Close())
		}
		c.wg.Wait()
	})
	return errors.Join(errs...)
}

// LocalAddr implements net.PacketConn.
func (c *shardedUDPConn) LocalAddr() net.Addr { return c.socks[0].LocalAddr() }

// SetDeadline implements net.PacketConn; only the write deadline applies
// (the ICE mux uses it to abort blocked writes).
func (c *shardedUDPConn) SetDeadline(t time.Time) error { return c.SetWriteDeadline(t) }

// SetReadDeadline implements net.PacketConn. Reads are merged from several
// sockets and are not bounded by a deadline; Close ends them.
func (c *shardedUDPConn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline implements net.PacketConn.
func (c *shardedUDPConn) SetWriteDeadline(t time.Time) error {
	var errs []error
	for _, s := range c.socks {
		errs = append(errs, s.SetWriteDeadline(t))
	}
	return errors.Join(errs...)
}

// localAddresses lists the local IPs the ICE mux listens on: up
// interfaces and addresses that pass the configured filters.
func (c *Config) localAddresses() ([]netip.Addr, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	keepIface, keepIP := c.keepInterface(), c.keepIP()
	var out []netip.Addr
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 {
			continue
		}
		if iface.Flags&net.FlagLoopback != 0 && !c.IncludeLoopback {
			continue
		}
		if keepIface != nil && !keepIface(iface.Name) {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipnet, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipnet.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if ip.IsLinkLocalUnicast() || ip.IsMulticast() || !keepIP(ipnet.IP) {
				continue
			}
			if !slices.Contains(out, ip) {
				out = append(out, ip)
			}
		}
	}
	return out, nil
}
