package discovery_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/discovery"
	"github.com/liveshop/liveshop/commerce/sqlstore"
)

// discClock is a clock tests move by hand.
type discClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *discClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *discClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// disc is a commerce Service with a Discovery on one store, a clock that
// starts at the real time, and helpers to build a catalogue and a history.
type disc struct {
	t     testing.TB
	ctx   context.Context
	db    *sqlstore.DB
	svc   *commerce.Service
	news  *commerce.Events // connected to d's activity
	d     *discovery.Service
	clock *discClock
	reg   *prometheus.Registry
	bus   *discovery.MemoryAlerts
	n     atomic.Int64
}

// newDisc starts discovery on db. Interactions are written only by
// d.flush (FlushInterval is an hour) unless cfg says otherwise.
func newDisc(t testing.TB, db *sqlstore.DB, cfg discovery.Config) *disc {
	t.Helper()
	w := &disc{t: t, ctx: context.Background(), db: db, reg: prometheus.NewRegistry(),
		clock: &discClock{now: time.Now().UTC().Truncate(time.Microsecond)}}
	w.news = &commerce.Events{}
	w.svc = commerce.New(db, nil, w.news, commerce.Config{
		Password: commerce.PasswordParams{MemoryKiB: 8 * 1024, Time: 1, Threads: 1},
		DataDir:  t.TempDir(), PaymentRetryDelay: time.Millisecond,
	}, nil)
	cfg.Now = w.clock.Now
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = time.Hour
	}
	w.bus = discovery.NewMemoryAlerts()
	d, err := discovery.New(cfg, discovery.Deps{Service: w.svc, Store: db, Alerts: w.bus, Registerer: w.reg})
	if err != nil {
		t.Fatal(err)
	}
	w.d = d
	w.news.Connect(commerce.Listeners{Activity: d})
	t.Cleanup(func() {
		w.news.Disconnect()
		d.Close()
	})
	return w
}

func (w *disc) account(name string) commerce.Account {
	w.t.Helper()
	email := fmt.Sprintf("%s-%d@example.com", name, w.n.Add(1))
	a, _, err := w.svc.SignUp(w.ctx, commerce.SignUp{Email: email, Password: "correct horse battery", Name: name}, "ip")
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

// shop opens a shop for a new seller and returns both.
func (w *disc) shop(handle, name string) (commerce.Account, commerce.Shop) {
	w.t.Helper()
	seller := w.account("seller-" + handle)
	sh, err := w.svc.OpenShop(w.ctx, seller, commerce.OpenShop{Handle: handle, Name: name, Currency: "USD"})
	if err != nil {
		w.t.Fatal(err)
	}
	return seller, sh
}

// backdate makes a shop look opened age ago (an established seller).
func (w *disc) backdate(shopID int64, age time.Duration) {
	w.t.Helper()
	at := time.Now().Add(-age).UnixMicro()
	if _, err := w.db.SQL().Exec(fmt.Sprintf("UPDATE shops SET created_at = %d WHERE id = %d", at, shopID)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *disc) product(seller commerce.Account, shopID int64, title string, price int64, desc string, tags ...string) commerce.Product {
	w.t.Helper()
	stock, active := int64(100), commerce.ProductActive
	if tags == nil {
		tags = []string{}
	}
	p, err := w.svc.CreateProduct(w.ctx, seller, shopID, commerce.ProductPatch{Title: &title, PriceMinor: &price,
		Stock: &stock, Status: &active, Description: &desc, Hashtags: &tags})
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *disc) stream(seller commerce.Account, shopID int64, title string, live bool, tags ...string) commerce.Stream {
	w.t.Helper()
	if tags == nil {
		tags = []string{}
	}
	st, err := w.svc.CreateStream(w.ctx, seller, shopID, commerce.StreamPatch{Title: &title, Hashtags: &tags})
	if err != nil {
		w.t.Fatal(err)
	}
	if live {
		if err := w.svc.MarkStreamLive(w.ctx, st.ID); err != nil {
			w.t.Fatal(err)
		}
	}
	got, err := w.svc.Stream(w.ctx, st.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return got
}

func (w *disc) record(evs ...discovery.Interaction) {
	w.t.Helper()
	for _, ev := range evs {
		if ev.At.IsZero() {
			ev.At = w.clock.Now()
		}
		if !w.d.Record(ev) {
			w.t.Fatalf("interaction %+v not queued", ev)
		}
	}
}

func (w *disc) flush() {
	w.t.Helper()
	if err := w.d.Flush(w.ctx); err != nil {
		w.t.Fatal(err)
	}
}

// view records n product views by account.
func (w *disc) view(account int64, p commerce.Product, n int) {
	for range n {
		w.record(discovery.Interaction{Kind: discovery.InteractionView, AccountID: account, ProductID: p.ID})
	}
}

// buy records a paid order of one unit of each product.
func (w *disc) buy(account, orderID int64, ps ...commerce.Product) {
	for _, p := range ps {
		w.record(discovery.Interaction{Kind: discovery.InteractionPurchase, AccountID: account, ProductID: p.ID,
			OrderID: orderID, Quantity: 1, AmountMinor: p.PriceMinor})
	}
}

// feed reads n items of a's feed, page by page.
func (w *disc) feed(a commerce.Account, n, pageSize int) []discovery.FeedItem {
	w.t.Helper()
	var out []discovery.FeedItem
	cursor := ""
	for len(out) < n {
		page, err := w.d.Feed(w.ctx, a, commerce.PageRequest{Cursor: cursor, Limit: pageSize})
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	return out[:min(n, len(out))]
}

// itemKey names a feed item for messages: p12 or s3.
func itemKey(it discovery.FeedItem) string {
	if it.Stream != nil {
		return fmt.Sprintf("s%d", it.Stream.ID)
	}
	return fmt.Sprintf("p%d", it.Product.ID)
}

func productKey(p commerce.Product) string { return fmt.Sprintf("p%d", p.ID) }

func streamKey(s commerce.Stream) string { return fmt.Sprintf("s%d", s.ID) }

func feedKeys(items []discovery.FeedItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = itemKey(it) + ":" + it.Reason
	}
	return out
}
