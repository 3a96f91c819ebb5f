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
	"net"
	"net/http"
	"net/url"
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
// The server must let the load through: run it with --signup-limit-ip -1
// (the scenario signs up its writers) and a --room-comment-limit that
// allows RATE/K comments per second per writer over --room-comment-window.
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
	rl := &roomLoad{c: c, api: newAPIClient(c, 30*time.Second, 0, 0), res: res}

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
	rl.measuring.Store(false)
	if err != nil {
		return nil, err
	}
	// Let the last events arrive before counting.
	time.Sleep(500 * time.Millisecond)
	res.RatePerS = float64(sent.Load()) / res.DurationS
	res.set("delivered_per_s", round(float64(rl.delivered.Load())/res.DurationS))
	res.set("dropped_clients", rl.dropped.Load())
	res.Errors += rl.errors.Load()
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

	mu    sync.Mutex
	conns []*websocket.Conn
	raw   []net.Conn
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
			go rl.countViewer(conn, br)
			return
		}
		ws, err := rl.dial(ctx, i, stream, "")
		if err != nil {
			first.keep(err)
			rl.errors.Add(1)
			return
		}
		go rl.readViewer(ws, true)
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
		return nil, nil, fmt.Errorf("upgrade: %s", resp.Status)
	}
	rl.mu.Lock()
	rl.raw = append(rl.raw, conn)
	rl.mu.Unlock()
	return conn, br, nil
}

// countViewer counts the events in a raw viewer's byte stream (frame
// headers never contain the marker; a marker split between two reads is
// caught by carrying the last bytes over).
func (rl *roomLoad) countViewer(conn net.Conn, br *bufio.Reader) {
	const carry = 5 // len(seqKey) - 1: too short to hold a whole marker
	buf := make([]byte, carry+8192)
	for {
		k, err := br.Read(buf[carry:])
		if err != nil {
			if rl.measuring.Load() && !errors.Is(err, net.ErrClosed) {
				rl.dropped.Add(1)
			}
			return
		}
		if rl.measuring.Load() {
			rl.delivered.Add(int64(bytes.Count(buf[:carry+k], seqKey)))
		}
		copy(buf[:carry], buf[k:carry+k])
	}
}

// readViewer counts the room events a viewer receives; a probe also
// measures each comment's latency from the time in its text.
func (rl *roomLoad) readViewer(ws *websocket.Conn, probe bool) {
	var buf bytes.Buffer // reused: 10,000 viewers must not allocate per frame
	for {
		data, err := readInto(ws, &buf)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure && rl.measuring.Load() {
				rl.dropped.Add(1)
			}
			return
		}
		if !rl.measuring.Load() {
			continue
		}
		rl.delivered.Add(int64(bytes.Count(data, seqKey)))
		if probe {
			now := time.Now()
			var evs []struct {
				Type string `json:"type"`
				Data struct {
					Text string `json:"text"`
				} `json:"data"`
			}
			if json.Unmarshal(data, &evs) != nil {
				continue
			}
			for _, e := range evs {
				if e.Type != "comment" {
					continue
				}
				if _, ts, ok := strings.Cut(e.Data.Text, "@"); ok {
					if ns, err := strconv.ParseInt(ts, 10, 64); err == nil {
						rl.res.Latency.add(now.Sub(time.Unix(0, ns)))
					}
				}
			}
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
			w.rl.errors.Add(int64(n))
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
