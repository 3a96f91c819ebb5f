// Package redistest runs a redis-server of a test's own on a free loopback
// port, so that the test can kill it, or stop it, and start it again on the
// same address while the code under test keeps its clients. Tests that only
// need some Redis use the shared server named by LIVESHOP_TEST_REDIS
// instead; this one is for outages, which must not touch other tests' keys.
package redistest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options shape the server.
type Options struct {
	// Persist keeps the data in an append-only file synced on every write,
	// so that Stop and Start keep it. Without it, the server starts empty
	// every time, as a restart without persistence does.
	Persist bool
}

// Server is one redis-server process; Start, Stop and Kill are meant for
// the test's goroutine.
type Server struct {
	tb   testing.TB
	opts Options
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts a server on a free loopback port and stops it when the test
// ends. Without redis-server on PATH the test is skipped, or fails under
// CI=true, where every service must be present.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal("redis-server is not on PATH; CI must provide it")
		}
		tb.Skip("redis-server is not on PATH")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{tb: tb, opts: opts, dir: tb.TempDir(), port: port}
	s.Start()
	tb.Cleanup(s.Kill)
	return s
}

// URL is the server's address as a redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Start starts the server (again) on its port and waits until it answers.
// Extra redis-server arguments apply to this start only.
func (s *Server) Start(extra ...string) {
	s.tb.Helper()
	args := []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--daemonize", "no", "--logfile", ""}
	if s.opts.Persist {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	args = append(args, extra...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("start redis-server: %v", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(s.cmd, s.done)
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-s.done:
			s.tb.Fatalf("redis-server on port %d exited at start (port taken?)", s.port)
		default:
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("redis-server on port %d does not answer: %v", s.port, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// RestartEmpty kills the server and starts it again with no data, as a
// Redis without persistence, or one whose disk was lost, comes back.
func (s *Server) RestartEmpty() {
	s.tb.Helper()
	s.Kill()
	if err := os.RemoveAll(s.dir); err != nil {
		s.tb.Fatal(err)
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		s.tb.Fatal(err)
	}
	s.Start()
}

// Stop ends the server as an operator's restart does (SIGTERM: it writes
// its append-only file and exits) and waits for it to exit.
func (s *Server) Stop() { s.end(syscall.SIGTERM) }

// Kill ends the server at once (SIGKILL to its process), as a crash does,
// and waits for it to exit. Its clients' connections break; nothing more is
// written to disk.
func (s *Server) Kill() { s.end(syscall.SIGKILL) }

func (s *Server) end(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// URL returns LIVESHOP_TEST_REDIS, the shared test Redis, skipping the test
// without it (or failing under CI=true, where every service must be
// present).
func URL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("LIVESHOP_TEST_REDIS")
	if url == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("LIVESHOP_TEST_REDIS is not set; CI must provide a Redis server")
		}
		tb.Skip("LIVESHOP_TEST_REDIS is not set; skipping Redis (run .ci/run for every backend)")
	}
	return url
}
