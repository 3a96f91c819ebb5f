package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/flash"
)

// flashConfig is shopConfig with quick sweeps and a short reservation time,
// so expiry and reconciliation happen within a test.
func flashConfig(t testing.TB) Config {
	cfg := shopConfig(t)
	cfg.FlashSale.SweepInterval = 50 * time.Millisecond
	cfg.FlashSale.StockUpdateInterval = 50 * time.Millisecond
	cfg.FlashSale.CacheTTL = 50 * time.Millisecond
	return cfg
}

func uniqueName(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// saleSetup is a seller with a shop, a product and a live stream.
type saleSetup struct {
	node     *testNode
	seller   shopper
	shopID   int64
	product  commerce.Product
	streamID int64
}

// newSaleSetup creates the seller's shop, a product with stock units at
// 10.00 USD, and a stream that is live.
func newSaleSetup(t testing.TB, n *testNode, stock int64) saleSetup {
	t.Helper()
	handle := uniqueName("s")
	seller := n.srv.shopper(t, handle+"@example.com", "Sal Seller")
	shopID := seller.openShop(handle, "USD")
	p := seller.product(shopID, "Limited sneakers", 10_000, stock)
	var st commerce.StreamWithKey
	seller.expect(201, "POST", fmt.Sprintf("/api/shops/%d/streams", shopID), map[string]string{"title": "Friday drop"}).decode(t, &st)
	if err := n.app.commerce.MarkStreamLive(context.Background(), st.ID); err != nil {
		t.Fatalf("put stream on air: %v", err)
	}
	return saleSetup{node: n, seller: seller, shopID: shopID, product: p, streamID: st.ID}
}

// startSale starts a sale of the setup's product at 5.00 USD.
func (s saleSetup) startSale(t testing.TB, quantity, limit, countdownS, durationS int64) flash.Sale {
	t.Helper()
	var fs flash.Sale
	s.seller.expect(201, "POST", fmt.Sprintf("/api/streams/%d/flash-sales", s.streamID), map[string]int64{
		"product_id": s.product.ID, "price_minor": 5_000, "quantity": quantity, "per_buyer_limit": limit,
		"countdown_s": countdownS, "duration_s": durationS,
	}).decode(t, &fs)
	return fs
}

// buyer is an account with a session, seeded straight into the store: a
// race needs thousands of them, and hashing thousands of passwords would
// measure argon2, not the sale.
type buyer struct {
	id    int64
	name  string
	token string
}

// seedBuyers creates n accounts with sessions on node a's store, in one
// transaction (thousands of autocommits would dominate a race test).
func seedBuyers(t testing.TB, a *app, n int) []buyer {
	t.Helper()
	ctx := context.Background()
	prefix := uniqueName("b")
	rebind := func(q string) string {
		if a.store.Dialect() == "postgres" {
			return stringsReplaceQ(q)
		}
		return q
	}
	tx, err := a.store.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	insAccount, err := tx.PrepareContext(ctx, rebind(`INSERT INTO accounts (email, name, password_hash, admin, created_at)
		VALUES (?, ?, 'not-a-hash', FALSE, ?) RETURNING id`))
	if err != nil {
		t.Fatal(err)
	}
	insSession, err := tx.PrepareContext(ctx, rebind(`INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)`))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]buyer, n)
	now := time.Now()
	for i := range out {
		b := buyer{name: fmt.Sprintf("Buyer %d", i)}
		if err := insAccount.QueryRowContext(ctx, fmt.Sprintf("%s-%d@example.com", prefix, i), b.name, now.UnixMicro()).Scan(&b.id); err != nil {
			t.Fatalf("seed buyer: %v", err)
		}
		raw := make([]byte, 24)
		_, _ = rand.Read(raw)
		b.token = "ls_" + base64.RawURLEncoding.EncodeToString(raw)
		h := sha256.Sum256([]byte(b.token))
		if _, err := insSession.ExecContext(ctx, h[:], b.id, now.UnixMicro(), now.Add(time.Hour).UnixMicro()); err != nil {
			t.Fatalf("seed session: %v", err)
		}
		out[i] = b
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return out
}

// as returns a client of node n signed in as b.
func (b buyer) as(t testing.TB, n *testNode) *client {
	c := n.srv.client(t)
	c.token = b.token
	return c
}

// raceClient is one HTTP client shared by many simulated buyers, with a
// bounded connection pool (the race detector allows 8128 goroutines).
func raceClient(conns int) *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 30 * time.Second,
	}}
}

// post sends a JSON POST as token and returns status and body.
func post(hc *http.Client, url, token string, body any, header ...string) (int, []byte, error) {
	return send(hc, "POST", url, token, body, header...)
}

// send sends a request with a JSON body (none when nil) as token.
func send(hc *http.Client, method, url, token string, body any, header ...string) (int, []byte, error) {
	return sendWith(hc, nil, method, url, token, body, header...)
}

// sendWith is send with a change to the request (its context) when edit is
// not nil.
func sendWith(hc *http.Client, edit func(*http.Request) *http.Request, method, url, token string, body any, header ...string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if edit != nil {
		req = edit(req)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

type reservationResult struct {
	Reservation flash.Reservation `json:"reservation"`
	Remaining   int64             `json:"remaining"`
	SoldOut     bool              `json:"sold_out"`
}

// reserve is "Buy now" for qty units; it fails the test unless it works.
func reserve(t testing.TB, c *client, saleID, qty int64) flash.Reservation {
	t.Helper()
	var out reservationResult
	c.expect(201, "POST", fmt.Sprintf("/api/flash-sales/%d/reservations", saleID), map[string]int64{"quantity": qty}).decode(t, &out)
	return out.Reservation
}

func flashCheckoutBody(card string) map[string]any {
	return map[string]any{"shipping_address": testAddress, "payment_method": map[string]string{"card_number": card}}
}

func checkoutPath(r flash.Reservation) string {
	return fmt.Sprintf("/api/flash-sales/%d/reservations/%d/checkout", r.SaleID, r.ID)
}

// saleSQL returns the sold count and whether the sale is reconciled, as SQL
// knows them.
func saleSQL(t testing.TB, a *app, saleID int64) flash.Sale {
	t.Helper()
	fs, err := a.store.FlashSaleByID(context.Background(), saleID)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}
