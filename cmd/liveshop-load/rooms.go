package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// runRooms is the rooms scenario: N viewers in one room, K writers posting
// RATE comments per second in total; it reports delivered events per
// second, post-to-receipt latency, dropped viewers, and the server's memory
// per connection.
//
// The window's events are the room events with a seq after the last one
// seen before posting began, up to the seq of the last comment posted. They
// are counted wherever they arrive until the drain after the window ends
// (every viewer has seen the last one, or drainTimeout passed), so events
// still in flight at the end are counted too: delivered_pct is the share of
// window_events × viewers that arrived. Probes also check their seqs run
// without holes: gaps counts the events a probe never got (0 when the room
// lost nothing).
//
// The server must let the load through: run it with --signup-limit-ip -1
// (the scenario signs up its writers), a --room-comment-limit that allows
// RATE/K comments per second per writer over --room-comment-window, and
// the per-IP room limits off (--room-comment-limit-ip -1
// --room-join-limit-ip -1 --room-socket-limit-ip -1): every viewer and
// writer comes from one address.
func runRooms(ctx context.Context, args []string) (*result, error) {
	fs, c := newFlags("rooms")
	viewers := fs.Int("viewers", 1000, "viewer connections in the room, spread over the targets")
	rate := fs.Float64("rate", 200, "comments per second posted in total")
	writers := fs.Int("writers", 50, "accounts posting the comments")
	probes := fs.Int("probes", 200, "viewers that decode every event to measure latency (the rest only count)")
	streamID := fs.Int64("stream", 0, "room to load; 0 creates a shop and stream")
	settle := fs.Duration("settle", 3*time.Second, "pause after connecting, before measuring memory per connection")
	if err := c.parse(fs, args); err != nil {
		return nil, err
	}
	if *viewers < 1 || *writers < 1 || *rate <= 0 {
		return nil, errors.New("-viewers, -writers and -rate must be positive")
	}
	res := c.newResult(map[string]any{"viewers": *viewers, "rate": *rate, "writers": *writers, "targets": len(c.targets)})
	rl := &roomLoad{c: c, api: newAPIClient(c, 30*time.Second, 0, 0), res: res,
		commentSeq: make([]atomic.Int64, int(*rate*c.duration.Seconds())+2)}
	rl.limit.Store(math.MaxInt64)

	tokens, stream, err := rl.setup(ctx, *writers, *streamID)
	if err != nil {
		return nil, fmt.Errorf("set up: %w", err)
	}
	idle, _ := readProcUsage(c.pids)
	if err := rl.connectViewers(ctx, stream, *viewers, *probes); err != nil {
		return nil, err
	}
	select {
	case <-time.After(*settle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if len(c.pids) > 0 {
		loaded, err := readProcUsage(c.pids)
		if err == nil {
			res.set("bytes_per_conn", int64((loaded.rssMB-idle.rssMB)*(1<<20)/float64(*viewers)))
		}
	} else {
		res.set("bytes_per_conn", 0)
	}
	ws, err := rl.connectWriters(ctx, stream, tokens)
	if err != nil {
		return nil, err
	}
	rl.base.Store(rl.maxSeen())
	rl.measuring.Store(true)
	var sent atomic.Int64
	err = measureServer(res, c.pids, func() error {
		runCtx, cancel := context.WithTimeout(ctx, c.duration)
		defer cancel()
		// One pacer posts for every writer in turn and catches up on the
		// schedule when it was held up, so the rate holds even while the
		// viewers' readers keep this process busy.
		start := time.Now()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for n := int64(0); ; {
			due := int64(time.Since(start).Seconds() * *rate)
			for ; n < due; n++ {
				if err := ws[n%int64(len(ws))].post(runCtx, n); err != nil {
					if runCtx.Err() != nil {
						return nil
					}
					return err
				}
				sent.Add(1)
			}
			select {
			case <-t.C:
			case <-runCtx.Done():
				return nil
			}
		}
	})
	if err != nil {
		rl.measuring.Store(false)
		return nil, err
	}
	windowEvents := rl.drain(sent.Load(), time.Now().Add(drainTimeout))
	rl.measuring.Store(false)
	res.RatePerS = float64(sent.Load()) / res.DurationS
	res.set("delivered_per_s", round(float64(rl.delivered.Load())/res.DurationS))
	res.set("dropped_clients", rl.dropped.Load())
	res.set("window_events", windowEvents)
	pct := 0.0
	if windowEvents > 0 {
		pct = 100 * float64(rl.delivered.Load()) / float64(windowEvents*int64(*viewers))
	}
	res.set("delivered_pct", round(pct))
	res.set("gaps", rl.gaps.Load())
	res.set("undrained", rl.undrained)
	res.Errors += rl.errors.Load() + rl.rejected.Load()
	rl.closeAll()
	return res, nil
}

type roomLoad struct {
	c   *common
	api *apiClient
	res *result

	measuring atomic.Bool
	delivered atomic.Int64
	dropped   atomic.Int64
	errors    atomic.Int64
	rejected  atomic.Int64 // comments the room refused (error events)
	gaps      atomic.Int64

	// base is the largest seq seen before posting began, limit the seq of
	// the window's last comment once the drain knows it: events with a seq
	// in (base, limit] are the window's.
	base, limit atomic.Int64
	// commentSeq[n] is the seq of comment n, as the first probe saw it.
	commentSeq []atomic.Int64
	// undrained counts viewers still short of the last event when the drain
	// gave up.
	undrained int

	mu      sync.Mutex
	conns   []*websocket.Conn
	raw     []net.Conn
	readers []*viewerSeq
}

// drainTimeout bounds the wait for the window's last events after posting
// stops.
const drainTimeout = 10 * time.Second

// viewerSeq is what the drain needs to know of one viewer: the largest seq
// it received, and whether it is gone.
type viewerSeq struct {
	max    atomic.Int64
	closed atomic.Bool
}

func (rl *roomLoad) newViewerSeq() *viewerSeq {
	v := &viewerSeq{}
	rl.mu.Lock()
	rl.readers = append(rl.readers, v)
	rl.mu.Unlock()
	return v
}

// maxSeen is the largest seq any viewer received.
func (rl *roomLoad) maxSeen() int64 {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	var m int64
	for _, v := range rl.readers {
		m = max(m, v.max.Load())
	}
	return m
}

// received counts one event for a viewer.
func (rl *roomLoad) received(v *viewerSeq, seq int64) {
	if seq > v.max.Load() {
		v.max.Store(seq)
	}
	if rl.measuring.Load() && seq > rl.base.Load() && seq <= rl.limit.Load() {
		rl.delivered.Add(1)
	}
}

// drain waits (until deadline at the latest) for the probes to have seen
// every comment posted in the window that the room accepted, fixes the
// window's last seq, then waits for every viewer still connected to have
// received it. It returns the number of events in the window.
func (rl *roomLoad) drain(sent int64, deadline time.Time) int64 {
	sent = min(sent, int64(len(rl.commentSeq)))
	var last int64
	waitFor(deadline, func() bool {
		known := int64(0)
		last = 0
		for i := range sent {
			if seq := rl.commentSeq[i].Load(); seq > 0 {
				known++
				last = max(last, seq)
			}
		}
		return known+rl.rejected.Load() >= sent
	})
	rl.limit.Store(last)
	rl.mu.Lock()
	readers := slices.Clone(rl.readers)
	rl.mu.Unlock()
	waitFor(deadline, func() bool {
		rl.undrained = 0
		for _, v := range readers {
			if !v.closed.Load() && v.max.Load() < last {
				rl.undrained++
			}
		}
		return rl.undrained == 0
	})
	return max(0, last-rl.base.Load())
}

// waitFor polls cond every 10 ms until it holds or deadline passes.
func waitFor(deadline time.Time, cond func() bool) {
	for !cond() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// setup signs up the writers and, without -stream, a seller with a shop and
// a stream.
func (rl *roomLoad) setup(ctx context.Context, writers int, stream int64) ([]string, int64, error) {
	run := randHex(4)
	signUp := func(i int) (string, error) {
		return rl.api.signUp(ctx, 0, fmt.Sprintf("load-%s-%d@example.com", run, i), fmt.Sprintf("Writer %d", i))
	}
	if stream == 0 {
		seller, err := signUp(0)
		if err != nil {
			return nil, 0, err
		}
		shopID, err := rl.api.createShop(ctx, 0, seller, "load-"+run, "Load "+run, "EUR")
		if err != nil {
			return nil, 0, err
		}
		if stream, _, err = rl.api.createStream(ctx, 0, seller, shopID, "Load test"); err != nil {
			return nil, 0, err
		}
	}
	tokens := make([]string, writers)
	for i := range tokens {
		t, err := signUp(i + 1)
		if err != nil {
			return nil, 0, fmt.Errorf("sign up writer %d (run the server with --signup-limit-ip -1): %w", i+1, err)
		}
		tokens[i] = t
	}
	return tokens, stream, nil
}

func (rl *roomLoad) dial(ctx context.Context, i int, stream int64, token string) (*websocket.Conn, error) {
	base := rl.c.target(i)
	hdr := http.Header{}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+fmt.Sprintf("/api/streams/%d/room", stream),
		&websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(-1)
	rl.mu.Lock()
	rl.conns = append(rl.conns, ws)
	rl.mu.Unlock()
	return ws, nil
}

// connectViewers opens the viewer connections, 200 at a time. The first
// probes are full WebSocket clients that decode every event; the rest are
// raw sockets that only count events in the bytes they receive, so the load
// generator's own cost stays small next to the server's.
func (rl *roomLoad) connectViewers(ctx context.Context, stream int64, n, probes int) error {
	var first firstErr
	forEach(n, 200, func(_, i int) {
		if i >= probes {
			conn, br, err := rl.dialRaw(ctx, i, stream)
			if err != nil {
				first.keep(err)
				rl.errors.Add(1)
				return
			}
			go rl.countViewer(conn, br, rl.newViewerSeq())
			return
		}
		ws, err := rl.dial(ctx, i, stream, "")
		if err != nil {
			first.keep(err)
			rl.errors.Add(1)
			return
		}
		go rl.readViewer(ws, rl.newViewerSeq())
	})
	if err := first.get(); err != nil {
		return fmt.Errorf("connect viewers: %w", err)
	}
	return nil
}

var seqKey = []byte(`"seq":`)

// dialRaw opens a room WebSocket by hand and returns the socket with
// whatever followed the handshake.
func (rl *roomLoad) dialRaw(ctx context.Context, i int, stream int64) (net.Conn, *bufio.Reader, error) {
	u, err := url.Parse(rl.c.target(i))
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, nil, err
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	fmt.Fprintf(conn, "GET /api/streams/%d/room HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", stream, u.Host, base64.StdEncoding.EncodeToString(key))
	br := bufio.NewReaderSize(conn, 8192)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			return nil, nil, fmt.Errorf("upgrade: %s (run the server with --room-join-limit-ip -1 --room-socket-limit-ip -1)", resp.Status)
		}
		return nil, nil, fmt.Errorf("upgrade: %s", resp.Status)
	}
	rl.mu.Lock()
	rl.raw = append(rl.raw, conn)
	rl.mu.Unlock()
	return conn, br, nil
}

// scanSeqs calls fn with the number after each complete seq marker in b
// and returns how many bytes at the end to carry over to the next read: an
// unfinished number with its marker, or the last bytes, where a marker
// split between two reads may start (frame headers never contain the
// marker).
func scanSeqs(b []byte, fn func(seq int64)) (carry int) {
	i := 0
	for {
		j := bytes.Index(b[i:], seqKey)
		if j < 0 {
			return min(len(seqKey)-1, len(b)-i)
		}
		start := i + j
		k, n := start+len(seqKey), int64(0)
		for ; k < len(b) && b[k] >= '0' && b[k] <= '9'; k++ {
			n = n*10 + int64(b[k]-'0')
		}
		if k == len(b) {
			return len(b) - start
		}
		fn(n)
		i = k
	}
}

// countViewer counts the events in a raw viewer's byte stream.
func (rl *roomLoad) countViewer(conn net.Conn, br *bufio.Reader, v *viewerSeq) {
	defer v.closed.Store(true)
	const room = 8192
	buf := make([]byte, 64+room)
	count := func(seq int64) { rl.received(v, seq) }
	carry := 0
	for {
		k, err := br.Read(buf[carry : carry+room])
		if err != nil {
			if rl.measuring.Load() && !errors.Is(err, net.ErrClosed) {
				rl.dropped.Add(1)
			}
			return
		}
		n := carry + k
		keep := min(scanSeqs(buf[:n], count), 64)
		copy(buf, buf[n-keep:n])
		carry = keep
	}
}

// readViewer is a probe: it counts the room events it receives, measures
// each comment's latency from the time in its text, notes the seq of each
// comment and checks the seqs follow one another without holes.
func (rl *roomLoad) readViewer(ws *websocket.Conn, v *viewerSeq) {
	defer v.closed.Store(true)
	var buf bytes.Buffer
	var last int64
	for {
		data, err := readInto(ws, &buf)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure && rl.measuring.Load() {
				rl.dropped.Add(1)
			}
			return
		}
		now := time.Now()
		var evs []struct {
			Type string `json:"type"`
			Seq  int64  `json:"seq"`
			Data struct {
				Text string `json:"text"`
			} `json:"data"`
		}
		if err := json.Unmarshal(data, &evs); err != nil {
			rl.errors.Add(1)
			continue
		}
		for _, e := range evs {
			rl.gaps.Add(seqHoles(last, e.Seq))
			last = max(last, e.Seq)
			rl.received(v, e.Seq)
			if e.Type == "comment" && rl.measuring.Load() {
				rl.comment(e.Data.Text, e.Seq, now)
			}
		}
	}
}

// seqHoles is how many seqs a viewer that saw last (0: nothing yet) missed
// before seq: an anonymous viewer is sent every room event, so any hole is
// a lost event.
func seqHoles(last, seq int64) int64 {
	if last == 0 || seq <= last+1 {
		return 0
	}
	return seq - last - 1
}

// comment records a posted comment's latency and seq from its text,
// "load W/N @UNIXNANO".
func (rl *roomLoad) comment(text string, seq int64, now time.Time) {
	head, ts, ok := strings.Cut(text, " @")
	if !ok {
		return
	}
	if ns, err := strconv.ParseInt(ts, 10, 64); err == nil {
		rl.res.Latency.add(now.Sub(time.Unix(0, ns)))
	}
	if _, num, ok := strings.Cut(head, "/"); ok {
		if n, err := strconv.ParseInt(num, 10, 64); err == nil && n >= 0 && n < int64(len(rl.commentSeq)) {
			rl.commentSeq[n].CompareAndSwap(0, seq)
		}
	}
}

// readInto reads one message into buf, reusing its memory.
func readInto(ws *websocket.Conn, buf *bytes.Buffer) ([]byte, error) {
	_, r, err := ws.Reader(context.Background())
	if err != nil {
		return nil, err
	}
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// roomWriter posts comments over its own connection and counts refusals.
type roomWriter struct {
	rl *roomLoad
	ws *websocket.Conn
	id int
}

func (rl *roomLoad) connectWriters(ctx context.Context, stream int64, tokens []string) ([]*roomWriter, error) {
	out := make([]*roomWriter, len(tokens))
	for i, t := range tokens {
		ws, err := rl.dial(ctx, i, stream, t)
		if err != nil {
			return nil, fmt.Errorf("connect writer %d: %w", i, err)
		}
		w := &roomWriter{rl: rl, ws: ws, id: i}
		go w.read()
		out[i] = w
	}
	return out, nil
}

func (w *roomWriter) post(ctx context.Context, n int64) error {
	msg := fmt.Sprintf(`{"type":"comment","cid":"w%d-%d","text":"load %d/%d @%d"}`, w.id, n, w.id, n, time.Now().UnixNano())
	return w.ws.Write(ctx, websocket.MessageText, []byte(msg))
}

// read drains the writer's room events, counting error events.
func (w *roomWriter) read() {
	errKey := []byte(`"type":"error"`)
	var buf bytes.Buffer
	for {
		data, err := readInto(w.ws, &buf)
		if err != nil {
			return
		}
		if n := bytes.Count(data, errKey); n > 0 && w.rl.measuring.Load() {
			w.rl.rejected.Add(int64(n))
		}
	}
}

func (rl *roomLoad) closeAll() {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for _, ws := range rl.conns {
		ws.CloseNow()
	}
	for _, c := range rl.raw {
		c.Close()
	}
}
