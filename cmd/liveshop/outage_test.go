package main

import (
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
	"github.com/liveshop/liveshop/room/redistest"
)

// tcpProxy forwards loopback connections to a server and can cut them all,
// to simulate a database that goes away and comes back on the same address.
type tcpProxy struct {
	t      testing.TB
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newTCPProxy(t testing.TB, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target, conns: map[net.Conn]bool{}}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatalf("proxy listen: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go p.accept(ln)
}

func (p *tcpProxy) accept(ln net.Listener) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns[in], p.conns[out] = true, true
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); out.Close() }()
		go func() { _, _ = io.Copy(in, out); in.Close() }()
	}
}

// cut stops listening and resets every forwarded connection.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// restore listens again on the same address.
func (p *tcpProxy) restore() { p.listen(p.addr) }

func TestDatabaseOutage(t *testing.T) {
	pgURL, err := url.Parse(sqltest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, pgURL.Host)
	pgURL.Host = proxy.addr
	cfg := testConfig(t)
	cfg.DB = pgURL.String()
	srv := startServer(t, cfg)
	c := srv.client(t)
	c.signUp("fay@example.com", "Fay")
	login := map[string]string{"email": "fay@example.com", "password": "correct horse battery"}

	proxy.cut()

	t.Run("readiness and requests answer 503 while the database is down", func(t *testing.T) {
		eventually(t, "/readyz to report 503", 10*time.Second, func() bool {
			return c.do("GET", "/readyz", nil).status == 503
		})
		r := c.do("POST", "/api/auth/login", login)
		if r.status != 503 || r.errorCode(t) != "unavailable" || r.header.Get("Retry-After") == "" {
			t.Fatalf("login during outage: %d %s %v", r.status, r.body, r.header)
		}
		if r := c.do("GET", "/healthz", nil); r.status != 200 {
			t.Fatalf("the process is up, /healthz must say so: %d", r.status)
		}
	})

	proxy.restore()

	t.Run("the server recovers when the database is back", func(t *testing.T) {
		eventually(t, "/readyz to report 200", 15*time.Second, func() bool {
			return c.do("GET", "/readyz", nil).status == 200
		})
		if r := c.do("POST", "/api/auth/login", login); r.status != 200 {
			t.Fatalf("login after recovery: %d %s", r.status, r.body)
		}
	})
}

// redisThroughProxy is testConfig on the test Redis, reached through a
// proxy the test can cut.
func redisThroughProxy(t *testing.T) (Config, *tcpProxy) {
	redisAt, err := url.Parse(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, redisAt.Host)
	redisAt.Host = proxy.addr
	cfg := testConfig(t)
	cfg.Redis = redisAt.String()
	cfg.RedisPrefix = uniqueName("test:") + ":"
	return cfg, proxy
}

func TestRedisOutage(t *testing.T) {
	cfg, proxy := redisThroughProxy(t)
	srv := startServer(t, cfg)
	c := srv.client(t)
	if r := c.do("GET", "/readyz", nil); r.status != 200 {
		t.Fatalf("/readyz with Redis up: %d %s", r.status, r.body)
	}

	proxy.cut()
	var down response
	eventually(t, "/readyz to report 503", 10*time.Second, func() bool {
		down = c.do("GET", "/readyz", nil)
		return down.status == 503
	})
	if code := down.errorCode(t); code != "unavailable" || !strings.Contains(string(down.body), "redis") {
		t.Fatalf("/readyz during the Redis outage: %d %s", down.status, down.body)
	}
	if r := c.do("GET", "/healthz", nil); r.status != 200 {
		t.Fatalf("the process is up, /healthz must say so: %d", r.status)
	}

	proxy.restore()
	eventually(t, "/readyz to report 200", 15*time.Second, func() bool {
		return c.do("GET", "/readyz", nil).status == 200
	})
}
