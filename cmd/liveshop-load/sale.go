package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/liveshop/liveshop/live/liveclient"
)

// runSale is the sale scenario: a seller goes live (a synthetic WHIP
// publisher) and starts a flash sale of Q units with a per-buyer limit; N
// buyers, spread over the targets, press "Buy now" (one unit per request)
// until the sale is sold out or refuses them. It reports reservations per
// second (until the last unit went, or -duration), the latency of every
// "Buy now", and then pays for every reservation and checks the outcome:
// orders created, units sold, oversold (must be 0) and duplicates (must be
// 0). With -baseline sql it then runs the same race against the same
// server's SQL row-lock baseline (UPDATE ... SET stock = stock - 1 WHERE
// stock >= 1), so the report shows the engine's rate as a ratio against it
// from the same run.
//
// The server must let the load through: run it with --signup-limit-ip -1
// (the scenario signs up its buyers; --argon2-memory-kib 8192 makes that
// quicker) and, for -baseline sql, --flash-sale-baseline.
func runSale(ctx context.Context, args []string) (*result, error) {
	fs, c := newFlags("sale")
	buyers := fs.Int("buyers", 1000, "buyers racing for the units, spread over the targets")
	units := fs.Int64("units", 10000, "units in the sale")
	limit := fs.Int64("limit", 10, "units one buyer may buy")
	baseline := fs.String("baseline", "", `"sql" also runs the race against the SQL row-lock baseline`)
	baselineUnits := fs.Int64("baseline-units", 0, "units in the baseline race (default: -units)")
	conns := fs.Int("conns", 128, "HTTP connections per target")
	pay := fs.Bool("pay", true, "pay for every reservation and check the orders")
	if err := c.parse(fs, args); err != nil {
		return nil, err
	}
	switch {
	case *buyers < 1 || *units < 1 || *limit < 1 || *conns < 1:
		return nil, errors.New("-buyers, -units, -limit and -conns must be positive")
	case int64(*buyers)**limit < *units:
		return nil, errors.New("-buyers × -limit must be at least -units, or the sale cannot sell out")
	case *baseline != "" && *baseline != "sql":
		return nil, errors.New(`-baseline takes "sql"`)
	}
	if *baselineUnits <= 0 {
		*baselineUnits = *units
	}
	res := c.newResult(map[string]any{"buyers": *buyers, "units": *units, "limit": *limit, "baseline": *baseline,
		"targets": len(c.targets), "conns": *conns})
	sl := &saleLoad{apiClient: newAPIClient(c, 30*time.Second, *conns, *conns), conns: *conns}
	defer sl.http.CloseIdleConnections()

	stock := *units
	if *baseline != "" {
		stock += *baselineUnits
	}
	pub, err := sl.setup(ctx, stock)
	if err != nil {
		return nil, fmt.Errorf("set up: %w", err)
	}
	defer pub.Close()
	tokens, err := sl.signUpMany(ctx, *buyers, "load", "buyer")
	if err != nil {
		return nil, fmt.Errorf("sign up buyers: %w", err)
	}

	// The flash sale on the stock engine.
	saleID, err := sl.startSale(ctx, *units, *limit)
	if err != nil {
		return nil, err
	}
	sl.warm(ctx, tokens)
	var race raceResult
	self, _ := readProcUsage([]int{os.Getpid()})
	err = measureServer(res, c.pids, func() error {
		race = sl.race(ctx, tokens, fmt.Sprintf("/api/flash-sales/%d/reservations", saleID), true)
		return nil
	})
	if after, err := readProcUsage([]int{os.Getpid()}); err == nil {
		// The generator shares the machine: say how much CPU it took.
		res.set("client_cpu_s", round(after.cpuSeconds-self.cpuSeconds))
	}
	if err != nil {
		return nil, err
	}
	res.Latency = race.latency
	res.RatePerS = race.rate()
	res.Errors = race.errors
	res.set("reserved", race.reserved)
	res.set("refused_sold_out", race.soldOut)
	res.set("refused_limit", race.limitReached)

	// Pay, and check what SQL and the engine made of it.
	var orders, duplicates, lapsed int64
	if *pay {
		orders, duplicates, lapsed, err = sl.payAll(ctx, race.reservations)
		if err != nil {
			return nil, err
		}
	}
	sold, err := sl.sold(ctx, saleID)
	if err != nil {
		return nil, err
	}
	oversold := max(0, race.reserved-*units) + max(0, sold-*units)
	res.set("orders", orders)
	res.set("lapsed_before_payment", lapsed)
	res.set("sold", sold)
	res.set("oversold", oversold)
	res.set("duplicates", duplicates+race.duplicateIDs)
	res.set("over_limit", race.overLimit(*limit))
	if err := sl.stopSale(ctx, saleID); err != nil {
		return nil, err
	}

	// The same race through one SQL row lock.
	baseRate := 0.0
	if *baseline == "sql" {
		baseID, err := sl.startSale(ctx, *baselineUnits, *limit)
		if err != nil {
			return nil, err
		}
		sl.warm(ctx, tokens)
		base := sl.race(ctx, tokens, fmt.Sprintf("/api/flash-sales/%d/baseline-reservations", baseID), false)
		if base.reserved == 0 && base.errors > 0 {
			return nil, fmt.Errorf("baseline race failed (is the server running with --flash-sale-baseline?): %v", base.firstErr)
		}
		baseRate = base.rate()
		res.set("baseline_reserved", base.reserved)
		res.setPercentiles("baseline", base.latency)
		res.Errors += base.errors
		if err := sl.stopSale(ctx, baseID); err != nil {
			return nil, err
		}
	}
	res.set("baseline_rate_per_s", round(baseRate))
	ratio := 0.0
	if baseRate > 0 {
		ratio = res.RatePerS / baseRate
	}
	res.set("ratio_vs_baseline", round(ratio))
	res.setFirstError(race.firstErr)
	return res, nil
}

// saleLoad is the sale scenario's state: an API client of the targets
// (setup, payments) and the sale's seller, stream and product.
type saleLoad struct {
	*apiClient
	conns    int
	seller   string
	streamID int64
	product  int64
}

// setup signs up the seller, opens a shop with one product of stock units
// and a stream, and puts the stream on air with a synthetic publisher,
// which the caller closes at the end.
func (l *saleLoad) setup(ctx context.Context, stock int64) (*liveclient.Publisher, error) {
	var err error
	if l.seller, err = l.signUpAs(ctx, 0, "load", "seller"); err != nil {
		return nil, err
	}
	shopID, err := l.createShop(ctx, 0, l.seller, "sale-"+randHex(4), "Sale load", "USD")
	if err != nil {
		return nil, err
	}
	if l.product, err = l.createProduct(ctx, 0, l.seller, shopID,
		map[string]any{"title": "Load sneakers", "price_minor": 10000, "stock": stock, "status": "active"}); err != nil {
		return nil, err
	}
	streamID, streamKey, err := l.createStream(ctx, 0, l.seller, shopID, "Sale load")
	if err != nil {
		return nil, err
	}
	l.streamID = streamID
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	pub, err := liveclient.Publish(pctx, fmt.Sprintf("%s/api/streams/%d/whip", l.target(0), streamID),
		liveclient.PublishOptions{Network: liveclient.Network{LoopbackOnly: true}, Key: streamKey, NoAudio: true})
	if err != nil {
		return nil, fmt.Errorf("go live (WHIP publish): %w", err)
	}
	go func() { _ = pub.Send(ctx, 100_000) }()
	for {
		var s struct{ Status string }
		if l.call(ctx, 0, "", "GET", fmt.Sprintf("/api/streams/%d", streamID), nil, http.StatusOK, &s) == nil && s.Status == "live" {
			return pub, nil
		}
		select {
		case <-pctx.Done():
			pub.Close()
			return nil, errors.New("the stream did not go live")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startSale starts a sale of units on the stream, running at once for an hour.
func (l *saleLoad) startSale(ctx context.Context, units, limit int64) (int64, error) {
	var fs struct{ ID int64 }
	if err := l.call(ctx, 0, l.seller, "POST", fmt.Sprintf("/api/streams/%d/flash-sales", l.streamID), map[string]int64{
		"product_id": l.product, "price_minor": 5000, "quantity": units, "per_buyer_limit": limit, "duration_s": 3600,
	}, http.StatusCreated, &fs); err != nil {
		return 0, fmt.Errorf("start sale: %w", err)
	}
	return fs.ID, nil
}

// stopSale ends a sale, unless it ended already (sold out).
func (l *saleLoad) stopSale(ctx context.Context, id int64) error {
	b, err := l.do(ctx, 0, l.seller, "POST", fmt.Sprintf("/api/flash-sales/%d/stop", id), nil, nil, http.StatusOK)
	if err != nil && !bytes.Contains(b, []byte(`"sale_ended"`)) {
		return fmt.Errorf("stop sale: %w", err)
	}
	return nil
}

// warm has every buyer make one cheap signed-in request, so their sessions
// are in the nodes' caches as they are for viewers already in the room.
func (l *saleLoad) warm(ctx context.Context, tokens []string) {
	forEach(len(tokens), 64, func(_, i int) {
		_, _ = l.do(ctx, i, tokens[i], "GET", "/api/me/purchase-privacy", nil, nil, http.StatusOK)
	})
}

// reservation is what a race keeps of a successful "Buy now".
type reservation struct {
	SaleID  int64 `json:"sale_id"`
	ID      int64 `json:"id"`
	BuyerID int64 `json:"buyer_id"`
	token   string
	worker  int
}

type raceResult struct {
	reserved, soldOut, limitReached, errors int64
	duplicateIDs                            int64
	elapsed                                 time.Duration
	latency                                 *latencies
	reservations                            []reservation
	firstErr                                error
}

// rate is reservations per second until the last unit went.
func (r raceResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.reserved) / r.elapsed.Seconds()
}

// overLimit counts buyers holding more than limit reservations.
func (r raceResult) overLimit(limit int64) int64 {
	per := map[int64]int64{}
	var over int64
	for _, res := range r.reservations {
		if per[res.BuyerID]++; per[res.BuyerID] == limit+1 {
			over++
		}
	}
	return over
}

var (
	soldOutCode = []byte(`"sold_out"`)
	limitCode   = []byte(`"limit_reached"`)
)

// race has every buyer press "Buy now" at path, one unit a time, until
// refused, the sale is sold out, or -duration passes. The buyers share
// -conns keep-alive connections per target, as they would share a load
// balancer's: worker w serves buyers w, w+W, w+2W... in turn. keep decodes
// and keeps the reservations (the baseline has none).
//
// The race uses a minimal HTTP/1.1 client (rawConn) so that the load
// generator, which shares the machine with the server, spends little of
// its CPU; setup and payments use net/http.
func (l *saleLoad) race(ctx context.Context, tokens []string, path string, keep bool) raceResult {
	ctx, cancel := context.WithTimeout(ctx, l.c.duration)
	defer cancel()
	out := raceResult{latency: &latencies{}}
	var (
		mu       sync.Mutex
		reserved atomic.Int64
		soldOut  atomic.Bool
		lastAt   atomic.Int64 // unix nanos of the last success
		nerrs    atomic.Int64
		first    firstErr
		wg       sync.WaitGroup
		seen     = map[int64]bool{}
	)
	fail := func(err error) {
		nerrs.Add(1)
		first.keep(err)
	}
	workers := min(l.conns*len(l.c.targets), len(tokens))
	start := time.Now()
	gate := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			target := l.target(w)
			rc, err := dialRaw(target)
			if err != nil {
				fail(err)
				return
			}
			defer rc.close()
			type buyer struct {
				index int
				req   []byte
			}
			var mine []buyer
			for i := w; i < len(tokens); i += workers {
				mine = append(mine, buyer{i, rc.request("POST", path, tokens[i])})
			}
			lat := make([]time.Duration, 0, 1024)
			defer func() {
				for _, d := range lat {
					out.latency.add(d)
				}
			}()
			<-gate
			for next := 0; len(mine) > 0 && ctx.Err() == nil && !soldOut.Load(); {
				next %= len(mine)
				b := mine[next]
				t0 := time.Now()
				status, body, err := rc.do(b.req)
				if err != nil {
					if ctx.Err() == nil {
						fail(err)
					}
					return
				}
				lat = append(lat, time.Since(t0))
				switch {
				case status == http.StatusCreated:
					reserved.Add(1)
					lastAt.Store(time.Now().UnixNano())
					next++
					if !keep {
						continue
					}
					var r struct {
						Reservation reservation `json:"reservation"`
						SoldOut     bool        `json:"sold_out"`
					}
					if err := json.Unmarshal(body, &r); err != nil {
						fail(err)
						continue
					}
					r.Reservation.token, r.Reservation.worker = tokens[b.index], b.index
					mu.Lock()
					if seen[r.Reservation.ID] {
						out.duplicateIDs++
					}
					seen[r.Reservation.ID] = true
					out.reservations = append(out.reservations, r.Reservation)
					mu.Unlock()
					if r.SoldOut {
						soldOut.Store(true)
					}
				case bytes.Contains(body, soldOutCode):
					mu.Lock()
					out.soldOut++
					mu.Unlock()
					soldOut.Store(true)
				case bytes.Contains(body, limitCode):
					mu.Lock()
					out.limitReached++
					mu.Unlock()
					mine = append(mine[:next], mine[next+1:]...)
				default:
					fail(fmt.Errorf("POST %s: status %d: %.200s", path, status, body))
					return
				}
			}
		})
	}
	close(gate)
	wg.Wait()
	out.reserved = reserved.Load()
	out.errors = nerrs.Load()
	if last := lastAt.Load(); last > 0 {
		out.elapsed = time.Unix(0, last).Sub(start)
	}
	out.firstErr = first.get()
	return out
}

// rawConn is a minimal HTTP/1.1 keep-alive client on one connection:
// requests are written whole, responses parsed by hand (status,
// Content-Length or chunked body). One goroutine uses it at a time.
type rawConn struct {
	host string
	c    net.Conn
	r    *bufio.Reader
	body []byte
}

func dialRaw(target string) (*rawConn, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	c, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		return nil, err
	}
	return &rawConn{host: u.Host, c: c, r: bufio.NewReaderSize(c, 4096)}, nil
}

func (rc *rawConn) close() { rc.c.Close() }

// request formats a bodiless request with a bearer token.
func (rc *rawConn) request(method, path, token string) []byte {
	return []byte(method + " " + path + " HTTP/1.1\r\nHost: " + rc.host + "\r\nAuthorization: Bearer " + token +
		"\r\nContent-Length: 0\r\n\r\n")
}

// do sends req and reads the response; the body is valid until the next call.
func (rc *rawConn) do(req []byte) (int, []byte, error) {
	_ = rc.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := rc.c.Write(req); err != nil {
		return 0, nil, err
	}
	line, err := rc.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	length, chunked := -1, false
	for {
		h, err := rc.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(h) <= 2 {
			break
		}
		name, value, _ := bytes.Cut(bytes.TrimSpace(h), []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, nil, err
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		}
	}
	rc.body = rc.body[:0]
	switch {
	case chunked:
		for {
			h, err := rc.r.ReadSlice('\n')
			if err != nil {
				return 0, nil, err
			}
			n, err := strconv.ParseInt(string(bytes.TrimSpace(h)), 16, 32)
			if err != nil {
				return 0, nil, err
			}
			if n == 0 {
				_, err := rc.r.ReadSlice('\n')
				return status, rc.body, err
			}
			start := len(rc.body)
			rc.body = append(rc.body, make([]byte, n)...)
			if _, err := io.ReadFull(rc.r, rc.body[start:]); err != nil {
				return 0, nil, err
			}
			if _, err := rc.r.Discard(2); err != nil {
				return 0, nil, err
			}
		}
	case length >= 0:
		if cap(rc.body) < length {
			rc.body = make([]byte, length)
		}
		rc.body = rc.body[:length]
		if _, err := io.ReadFull(rc.r, rc.body); err != nil {
			return 0, nil, err
		}
	default:
		return 0, nil, errors.New("response without a length")
	}
	return status, rc.body, nil
}

// payAll pays for every reservation, 32 at a time, and counts the orders,
// the order IDs handed out for more than one reservation, and the
// reservations that lapsed before their turn came.
func (l *saleLoad) payAll(ctx context.Context, rs []reservation) (orders, duplicates, lapsed int64, err error) {
	var (
		expired atomic.Int64
		mu      sync.Mutex
		seen    = map[int64]bool{}
		failed  firstErr
	)
	body := checkoutBody()
	forEach(len(rs), 32, func(_, i int) {
		r := rs[i]
		b, err := l.do(ctx, r.worker, r.token, "POST", fmt.Sprintf("/api/flash-sales/%d/reservations/%d/checkout", r.SaleID, r.ID),
			body, []string{"Idempotency-Key", randHex(12)}, http.StatusCreated)
		if err != nil && bytes.Contains(b, []byte(`"reservation_expired"`)) {
			expired.Add(1) // paying took longer than the hold: fair, not an error
			return
		}
		if err != nil {
			failed.keep(err)
			return
		}
		var out struct {
			Order struct{ ID int64 } `json:"order"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			failed.keep(err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if seen[out.Order.ID] {
			duplicates++
		}
		seen[out.Order.ID] = true
		orders++
	})
	if err := failed.get(); err != nil {
		return orders, duplicates, expired.Load(), fmt.Errorf("pay: %w", err)
	}
	return orders, duplicates, expired.Load(), nil
}

// sold reads the sale's sold count.
func (l *saleLoad) sold(ctx context.Context, saleID int64) (int64, error) {
	var fs struct{ Sold int64 }
	err := l.call(ctx, 0, "", "GET", fmt.Sprintf("/api/flash-sales/%d", saleID), nil, http.StatusOK, &fs)
	return fs.Sold, err
}
