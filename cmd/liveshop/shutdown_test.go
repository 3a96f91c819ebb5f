package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestGracefulShutdown(t *testing.T) {
	cfg := withMetrics(testConfig(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrCh := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, io.Discard, func(a string) { addrCh <- a }) }()
	addr := <-addrCh

	// A request whose body is still arriving when shutdown begins.
	body, feed := io.Pipe()
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/auth/login", body)
	req.Header.Set("Content-Type", "application/json")
	answered := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	if _, err := feed.Write([]byte(`{"email": "nobody@example.com", `)); err != nil {
		t.Fatal(err)
	}
	metrics := &client{t: t, base: "http://" + addr, http: &http.Client{}}
	eventually(t, "the request to reach its handler", 10*time.Second, func() bool {
		return strings.Contains(string(metrics.metrics().body), "\nliveshop_http_requests_in_flight 1\n")
	})

	cancel()
	// The listener closes first: new connections are refused.
	eventually(t, "the listener to close", 10*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-done:
		t.Fatalf("run returned (%v) while a request was in flight", err)
	default:
	}

	// The in-flight request is drained: it completes with a real answer.
	if _, err := feed.Write([]byte(`"password": "whatever it is"}`)); err != nil {
		t.Fatal(err)
	}
	feed.Close()
	if status := <-answered; status != http.StatusUnauthorized {
		t.Fatalf("in-flight request got %d, want its real answer 401", status)
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
