package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// apiClient calls the servers' JSON API for a scenario, both to set the
// scene up (accounts, shops, products, streams) and as the load itself.
// Requests go to the -target nodes round robin by worker number, so
// clients spread over the nodes as they would behind a load balancer.
type apiClient struct {
	c    *common
	http *http.Client
	// waitTooMany has do wait out 429 answers (Retry-After) and try again:
	// set-up that must get past the server's rate limits sets it.
	waitTooMany bool

	// errors and first count the failures of run's operations.
	errors atomic.Int64
	first  firstErr
}

// newAPIClient returns a client of c's targets with a fresh keep-alive pool
// (see newHTTPClient).
func newAPIClient(c *common, timeout time.Duration, idlePerHost, maxPerHost int) *apiClient {
	return &apiClient{c: c, http: newHTTPClient(timeout, idlePerHost, maxPerHost)}
}

// newHTTPClient returns an HTTP client that keeps idlePerHost idle
// connections to each target and opens at most maxPerHost (0: no cap), so
// a scenario's many clients reuse connections instead of exhausting ports.
// With both 0 it uses net/http's default transport.
func newHTTPClient(timeout time.Duration, idlePerHost, maxPerHost int) *http.Client {
	if idlePerHost == 0 && maxPerHost == 0 {
		return &http.Client{Timeout: timeout}
	}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		MaxIdleConnsPerHost: idlePerHost, MaxConnsPerHost: maxPerHost, IdleConnTimeout: time.Minute}}
}

// target is the base URL worker's requests go to (see common.target).
func (a *apiClient) target(worker int) string { return a.c.target(worker) }

// do sends one request (body, when not nil, as JSON; token, when set, as
// bearer; header as name, value pairs) and checks the status is want. The
// response body is returned for the caller to decode, also with the status
// error, so callers can tell refusals apart by their error code.
func (a *apiClient) do(ctx context.Context, worker int, token, method, path string, body any, header []string, want int) ([]byte, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	for {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, a.target(worker)+path, rd)
		if err != nil {
			return nil, err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := a.http.Do(req)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if a.waitTooMany && resp.StatusCode == http.StatusTooManyRequests && want != http.StatusTooManyRequests {
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			select {
			case <-time.After(time.Duration(max(1, wait)) * time.Second):
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if resp.StatusCode != want {
			return b, fmt.Errorf("%s %s: status %d: %.200s", method, path, resp.StatusCode, b)
		}
		return b, nil
	}
}

// call is do without extra headers, decoding the answer into out unless
// out is nil.
func (a *apiClient) call(ctx context.Context, worker int, token, method, path string, body any, want int, out any) error {
	b, err := a.do(ctx, worker, token, method, path, body, nil, want)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// run calls op in a loop on n workers for d, counting the errors (see
// firstError); op's worker number picks its target.
func (a *apiClient) run(ctx context.Context, n int, d time.Duration, op func(ctx context.Context, worker int) error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := op(ctx, w); err != nil && ctx.Err() == nil {
					a.errors.Add(1)
					a.first.keep(err)
				}
			}
		})
	}
	wg.Wait()
}

// firstError is the first error run counted, or nil.
func (a *apiClient) firstError() error {
	return a.first.get()
}

// loadPassword is every load account's password; nobody signs in with it.
const loadPassword = "load-test-password"

// signUp creates an account and returns its session token.
func (a *apiClient) signUp(ctx context.Context, worker int, email, name string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	err := a.call(ctx, worker, "", "POST", "/api/auth/signup",
		map[string]string{"email": email, "password": loadPassword, "name": name}, http.StatusCreated, &out)
	return out.Token, err
}

// signUpAs creates an account for role in a run of prefix's scenario
// (prefix-role-RANDOM@example.com, named "Prefix role").
func (a *apiClient) signUpAs(ctx context.Context, worker int, prefix, role string) (string, error) {
	email := fmt.Sprintf("%s-%s-%s@example.com", prefix, role, randHex(6))
	return a.signUp(ctx, worker, email, strings.ToUpper(prefix[:1])+prefix[1:]+" "+role)
}

// signUpMany creates n accounts for role (see signUpAs), eight at a time:
// sign-ups hash passwords, and flooding the server would only measure that.
func (a *apiClient) signUpMany(ctx context.Context, n int, prefix, role string) ([]string, error) {
	tokens := make([]string, n)
	errs := make([]error, n)
	forEach(n, 8, func(_, i int) {
		tokens[i], errs[i] = a.signUpAs(ctx, i, prefix, role)
	})
	return tokens, errors.Join(errs...)
}

// createShop opens a shop for the seller whose session token is token.
func (a *apiClient) createShop(ctx context.Context, worker int, token, handle, name, currency string) (int64, error) {
	var shop struct {
		ID int64 `json:"id"`
	}
	err := a.call(ctx, worker, token, "POST", "/api/shops",
		map[string]string{"handle": handle, "name": name, "currency": currency}, http.StatusCreated, &shop)
	return shop.ID, err
}

// createProduct adds a product (its JSON fields) to the seller's shop.
func (a *apiClient) createProduct(ctx context.Context, worker int, token string, shopID int64, product map[string]any) (int64, error) {
	var p struct {
		ID int64 `json:"id"`
	}
	err := a.call(ctx, worker, token, "POST", fmt.Sprintf("/api/shops/%d/products", shopID), product, http.StatusCreated, &p)
	return p.ID, err
}

// createStream schedules a stream in the seller's shop and returns its ID
// and the key its publisher goes live with.
func (a *apiClient) createStream(ctx context.Context, worker int, token string, shopID int64, title string) (int64, string, error) {
	var st struct {
		ID        int64  `json:"id"`
		StreamKey string `json:"stream_key"`
	}
	err := a.call(ctx, worker, token, "POST", fmt.Sprintf("/api/shops/%d/streams", shopID),
		map[string]string{"title": title}, http.StatusCreated, &st)
	return st.ID, st.StreamKey, err
}

// randHex returns n random bytes in hex, to keep handles and emails of
// repeated runs apart.
func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// randN returns a uniformly random int in [0, n).
func randN(n int) int {
	v, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
	return int(v.Int64())
}
