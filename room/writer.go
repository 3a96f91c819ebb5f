package room

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// writePool writes queued frames to connections with a fixed number of
// goroutines, so a connection costs no writer goroutine of its own. A
// connection with something queued is in the ready list at most once; a
// worker takes everything it has queued and writes it as one frame.
type writePool struct {
	mu      sync.Mutex
	cond    *sync.Cond
	ready   []*conn
	closed  bool
	wg      sync.WaitGroup
	timeout time.Duration
	m       *metrics
	busy    []workerState
	stop    chan struct{}
}

// workerState lets the watchdog find a write stuck longer than the timeout.
type workerState struct {
	since atomic.Int64 // unix ns when the current write began; 0 when idle
	conn  atomic.Pointer[conn]
}

func newWritePool(workers int, timeout time.Duration, m *metrics) *writePool {
	p := &writePool{timeout: timeout, m: m, busy: make([]workerState, workers), stop: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	for i := range workers {
		p.wg.Go(func() { p.work(&p.busy[i]) })
	}
	p.wg.Go(p.watchdog)
	return p
}

// schedule adds connections that just went from idle to having work.
func (p *writePool) schedule(cs ...*conn) {
	if len(cs) == 0 {
		return
	}
	p.mu.Lock()
	p.ready = append(p.ready, cs...)
	p.mu.Unlock()
	if len(cs) == 1 {
		p.cond.Signal()
	} else {
		p.cond.Broadcast()
	}
}

func (p *writePool) next() *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.ready) == 0 && !p.closed {
		p.cond.Wait()
	}
	if len(p.ready) == 0 {
		return nil
	}
	c := p.ready[0]
	p.ready[0] = nil
	p.ready = p.ready[1:]
	if len(p.ready) == 0 {
		p.ready = p.ready[:0:0] // let the backing array go once drained
	}
	return c
}

func (p *writePool) work(ws *workerState) {
	var buf []byte
	for {
		c := p.next()
		if c == nil {
			return
		}
		ws.conn.Store(c)
		buf = p.drain(c, ws, buf)
		ws.conn.Store(nil)
		if cap(buf) > 1<<20 {
			buf = nil
		}
	}
}

// drain writes everything queued on c; it returns the scratch buffer for reuse.
func (p *writePool) drain(c *conn, ws *workerState, buf []byte) []byte {
	for {
		items, closing := c.take()
		if len(items) > 0 {
			frame := items[0]
			if len(items) > 1 {
				buf = mergeFrames(buf[:0], items)
				frame = buf
			}
			ws.since.Store(time.Now().UnixNano())
			err := c.ws.Write(context.Background(), websocket.MessageText, frame)
			ws.since.Store(0)
			c.recycle(items)
			if err != nil {
				c.abort()
				return buf
			}
			p.m.framesOut.Inc()
		}
		if closing != nil {
			go c.ws.Close(closing.code, closing.reason)
			return buf
		}
		if len(items) == 0 && c.idle() {
			return buf
		}
	}
}

// mergeFrames joins frames that are each a JSON array into one array.
func mergeFrames(dst []byte, frames [][]byte) []byte {
	dst = append(dst, '[')
	for i, f := range frames {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, f[1:len(f)-1]...)
	}
	return append(dst, ']')
}

// watchdog closes connections whose write has been stuck past the timeout
// (a peer that stopped reading with a full TCP window), freeing the worker.
func (p *writePool) watchdog() {
	t := time.NewTicker(max(p.timeout/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		now := time.Now().UnixNano()
		for i := range p.busy {
			ws := &p.busy[i]
			if s := ws.since.Load(); s != 0 && time.Duration(now-s) > p.timeout {
				if c := ws.conn.Load(); c != nil {
					c.cutStuckWrite()
				}
			}
		}
	}
}

func (p *writePool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cond.Broadcast()
	close(p.stop)
	p.wg.Wait()
}
