package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// seenRequest is what the fake API server kept of one request.
type seenRequest struct {
	method, path, contentType, auth, idempotency string
	body                                         map[string]any
}

// mustFakeAPI starts an API server on loopback that records each request
// and answers it with handle's status and body; the client talks to it.
func mustFakeAPI(tb testing.TB, handle func(n int, r seenRequest) (int, string)) (*apiClient, func() []seenRequest) {
	tb.Helper()
	var mu sync.Mutex
	var seen []seenRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		sr := seenRequest{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"),
			auth: r.Header.Get("Authorization"), idempotency: r.Header.Get("Idempotency-Key")}
		if len(b) > 0 {
			if err := json.Unmarshal(b, &sr.body); err != nil {
				tb.Errorf("request body is not JSON: %s", b)
			}
		}
		mu.Lock()
		n := len(seen)
		seen = append(seen, sr)
		mu.Unlock()
		status, body := handle(n, sr)
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	tb.Cleanup(srv.Close)
	c := mustCommon(tb, "test", "-target", srv.URL+"/")
	a := newAPIClient(c, 10*time.Second, 4, 0)
	tb.Cleanup(a.http.CloseIdleConnections)
	return a, func() []seenRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]seenRequest(nil), seen...)
	}
}

func TestAPIClient(t *testing.T) {
	ctx := context.Background()

	t.Run("sends JSON with the bearer token and extra headers", func(t *testing.T) {
		a, seen := mustFakeAPI(t, func(int, seenRequest) (int, string) { return http.StatusCreated, `{"ok":true}` })
		b, err := a.do(ctx, 3, "tok", "POST", "/api/checkout", map[string]int{"shop_id": 5}, []string{"Idempotency-Key", "k1"}, http.StatusCreated)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != `{"ok":true}` {
			t.Errorf("body %s", b)
		}
		r := seen()[0]
		if r.method != "POST" || r.path != "/api/checkout" || r.contentType != "application/json" ||
			r.auth != "Bearer tok" || r.idempotency != "k1" || r.body["shop_id"] != 5.0 {
			t.Errorf("server saw %+v", r)
		}
	})

	t.Run("sends neither body nor token when there are none", func(t *testing.T) {
		a, seen := mustFakeAPI(t, func(int, seenRequest) (int, string) { return http.StatusOK, `{}` })
		if _, err := a.do(ctx, 0, "", "GET", "/api/products/1", nil, nil, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		if r := seen()[0]; r.contentType != "" || r.auth != "" || r.body != nil {
			t.Errorf("server saw %+v", r)
		}
	})

	t.Run("refuses another status and returns the body with the error", func(t *testing.T) {
		a, _ := mustFakeAPI(t, func(int, seenRequest) (int, string) {
			return http.StatusConflict, `{"error":{"code":"sale_ended"}}`
		})
		b, err := a.do(ctx, 0, "", "POST", "/api/flash-sales/1/stop", nil, nil, http.StatusOK)
		if err == nil || !strings.Contains(err.Error(), "status 409") || !strings.Contains(string(b), "sale_ended") {
			t.Errorf("err %v, body %s", err, b)
		}
	})

	t.Run("waits out a 429 only when told to", func(t *testing.T) {
		a, seen := mustFakeAPI(t, func(n int, _ seenRequest) (int, string) {
			if n < 2 { // the first call, and the first try of the second
				return http.StatusTooManyRequests, `{}`
			}
			return http.StatusAccepted, `{}`
		})
		if _, err := a.do(ctx, 0, "", "POST", "/api/interactions", map[string]any{}, nil, http.StatusAccepted); err == nil {
			t.Fatal("a 429 passed without waitTooMany")
		}
		a.waitTooMany = true
		if _, err := a.do(ctx, 0, "", "POST", "/api/interactions", map[string]any{"events": []int{1}}, nil, http.StatusAccepted); err != nil {
			t.Fatal(err)
		}
		if got := seen(); len(got) != 3 || got[2].body["events"] == nil {
			t.Errorf("server saw %+v, want the body sent again", got)
		}
	})

	t.Run("sets up an account, a shop, a product and a stream", func(t *testing.T) {
		a, seen := mustFakeAPI(t, func(_ int, r seenRequest) (int, string) {
			switch r.path {
			case "/api/auth/signup":
				return http.StatusCreated, `{"token":"ls_1","account":{"id":9}}`
			case "/api/shops":
				return http.StatusCreated, `{"id":11}`
			case "/api/shops/11/products":
				return http.StatusCreated, `{"id":12}`
			case "/api/shops/11/streams":
				return http.StatusCreated, `{"id":13,"stream_key":"sk"}`
			}
			return http.StatusNotFound, `{}`
		})
		token, err := a.signUpAs(ctx, 0, "feed", "seller")
		if err != nil || token != "ls_1" {
			t.Fatalf("signUpAs: %q, %v", token, err)
		}
		shop, err := a.createShop(ctx, 0, token, "h", "Shop", "USD")
		if err != nil || shop != 11 {
			t.Fatalf("createShop: %d, %v", shop, err)
		}
		product, err := a.createProduct(ctx, 0, token, shop, map[string]any{"title": "T"})
		if err != nil || product != 12 {
			t.Fatalf("createProduct: %d, %v", product, err)
		}
		stream, key, err := a.createStream(ctx, 0, token, shop, "Live")
		if err != nil || stream != 13 || key != "sk" {
			t.Fatalf("createStream: %d %q, %v", stream, key, err)
		}
		signup := seen()[0].body
		if !strings.HasPrefix(signup["email"].(string), "feed-seller-") || signup["name"] != "Feed seller" || signup["password"] != loadPassword {
			t.Errorf("sign-up body %v", signup)
		}
		for _, r := range seen()[1:] {
			if r.auth != "Bearer ls_1" {
				t.Errorf("%s without the seller's token", r.path)
			}
		}
	})

	t.Run("signs up many accounts and joins their errors", func(t *testing.T) {
		a, _ := mustFakeAPI(t, func(n int, _ seenRequest) (int, string) {
			if n == 3 {
				return http.StatusTooManyRequests, `{}`
			}
			return http.StatusCreated, `{"token":"t"}`
		})
		tokens, err := a.signUpMany(ctx, 10, "load", "buyer")
		if len(tokens) != 10 || err == nil || !strings.Contains(err.Error(), "status 429") {
			t.Errorf("got %d tokens, err %v; want 10 and the 429", len(tokens), err)
		}
	})

	t.Run("counts the failures of a run and keeps the first", func(t *testing.T) {
		a, _ := mustFakeAPI(t, func(int, seenRequest) (int, string) { return http.StatusOK, `{}` })
		var calls atomic.Int64
		a.run(ctx, 3, 50*time.Millisecond, func(ctx context.Context, worker int) error {
			if calls.Add(1) == 1 {
				return errors.New("first")
			}
			<-ctx.Done()
			return errors.New("after the end: not counted")
		})
		if a.errors.Load() != 1 || a.firstError() == nil || a.firstError().Error() != "first" {
			t.Errorf("errors %d, first %v", a.errors.Load(), a.firstError())
		}
	})
}

func TestPools(t *testing.T) {
	t.Run("forEach calls every index once on at most workers goroutines", func(t *testing.T) {
		const n, workers = 200, 7
		var calls [n]atomic.Int64
		var running, most atomic.Int64
		forEach(n, workers, func(w, i int) {
			if w < 0 || w >= workers {
				t.Errorf("worker %d out of range", w)
			}
			now := running.Add(1)
			for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
			}
			calls[i].Add(1)
			running.Add(-1)
		})
		for i := range calls {
			if c := calls[i].Load(); c != 1 {
				t.Errorf("index %d called %d times", i, c)
			}
		}
		if most.Load() > workers {
			t.Errorf("%d calls at once, want at most %d", most.Load(), workers)
		}
	})

	t.Run("parallel stops at the first error and returns it", func(t *testing.T) {
		var calls atomic.Int64
		err := parallel(context.Background(), 100, 1, func(ctx context.Context, _, i int) error {
			calls.Add(1)
			if i == 3 {
				return errors.New("item 3")
			}
			return nil
		})
		if err == nil || err.Error() != "item 3" || calls.Load() != 4 {
			t.Errorf("err %v after %d calls, want item 3 after 4", err, calls.Load())
		}
	})

	t.Run("firstErr keeps the first of errors of different types", func(t *testing.T) {
		var f firstErr
		if f.get() != nil {
			t.Fatal("an error before any was kept")
		}
		first := errors.New("first")
		f.keep(first)
		f.keep(&json.SyntaxError{}) // another concrete type: must not panic
		if f.get() != first {
			t.Errorf("got %v, want the first", f.get())
		}
	})

	t.Run("parallel returns nil when all succeed", func(t *testing.T) {
		if err := parallel(context.Background(), 10, 3, func(context.Context, int, int) error { return nil }); err != nil {
			t.Error(err)
		}
	})
}
