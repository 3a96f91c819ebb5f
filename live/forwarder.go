package live

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// forwarder carries one media kind of a stream from whichever source is
// current (publisher, or the origin node for a relay) to every viewer.
//
// The source's reading goroutine calls push for each packet; push rewrites
// the header once, then hands the packet to each viewer's bounded queue
// without blocking. Viewers write from their own goroutines, so a slow one
// only loses its own packets.
type forwarder struct {
	kind  webrtc.RTPCodecType
	codec codec
	kf    *keyframeRequester // nil for audio

	outs   atomic.Pointer[[]*viewer] // copy-on-write, read lock-free by push
	outsMu sync.Mutex

	ingestPackets, ingestBytes, dropped, lost prometheus.Counter

	mu sync.Mutex // reader-side state below; two sources overlap briefly on reconnect
	// Continuity across sources: outgoing = incoming + delta, so a
	// reconnecting publisher (new SSRC, new sequence and timestamp bases)
	// looks like one unbroken stream to viewers.
	started              bool
	srcSSRC              uint32
	seqDelta             uint16
	tsDelta              uint32
	lastSeq              uint16
	lastTS               uint32
	lastAt               time.Time
	lastKeyTS            uint32 // H.264: timestamp of the last keyframe start
	haveKeyTS            bool
	loss                 lossWindow
	lastPacketAtUnixNano atomic.Int64
}

func newForwarder(kind webrtc.RTPCodecType, c codec, kf *keyframeRequester, m *metrics) *forwarder {
	f := &forwarder{kind: kind, codec: c, kf: kf}
	k := kind.String()
	f.ingestPackets = m.ingestPackets.WithLabelValues(k)
	f.ingestBytes = m.ingestBytes.WithLabelValues(k)
	f.dropped = m.dropped.WithLabelValues(k)
	f.lost = m.lost.WithLabelValues("ingest")
	empty := []*viewer{}
	f.outs.Store(&empty)
	return f
}

func (f *forwarder) add(v *viewer) {
	f.outsMu.Lock()
	defer f.outsMu.Unlock()
	old := *f.outs.Load()
	next := make([]*viewer, len(old), len(old)+1)
	copy(next, old)
	next = append(next, v)
	f.outs.Store(&next)
}

func (f *forwarder) remove(v *viewer) {
	f.outsMu.Lock()
	defer f.outsMu.Unlock()
	old := *f.outs.Load()
	next := make([]*viewer, 0, len(old))
	for _, o := range old {
		if o != v {
			next = append(next, o)
		}
	}
	f.outs.Store(&next)
}

// push forwards one packet read from the current source.
func (f *forwarder) push(p *rtp.Packet) {
	if len(p.Payload) == 0 {
		return // padding-only probes mean nothing to viewers
	}
	f.ingestPackets.Inc()
	f.ingestBytes.Add(float64(len(p.Payload)))
	now := time.Now()
	f.lastPacketAtUnixNano.Store(now.UnixNano())

	f.mu.Lock()
	if !f.started || p.SSRC != f.srcSSRC {
		if f.started {
			f.seqDelta = f.lastSeq + 1 - p.SequenceNumber
			ticks := uint32(now.Sub(f.lastAt).Seconds() * float64(f.codec.clock))
			f.tsDelta = f.lastTS + max(ticks, 1) - p.Timestamp
		}
		f.started, f.srcSSRC, f.haveKeyTS = true, p.SSRC, false
		f.loss = lossWindow{}
		f.lastSeq = p.SequenceNumber + f.seqDelta - 1
	}
	if n := f.loss.add(p.SequenceNumber); n > 0 {
		f.lost.Add(float64(n))
	}
	out := &rtp.Packet{Header: rtp.Header{
		Version:        2,
		Marker:         p.Marker,
		PayloadType:    p.PayloadType,
		SequenceNumber: p.SequenceNumber + f.seqDelta,
		Timestamp:      p.Timestamp + f.tsDelta,
		SSRC:           p.SSRC,
		CSRC:           p.CSRC,
	}, Payload: p.Payload}
	if d := out.SequenceNumber - f.lastSeq; d != 0 && d < 0x8000 {
		f.lastSeq, f.lastTS, f.lastAt = out.SequenceNumber, out.Timestamp, now
	}
	key := false
	if f.kind == webrtc.RTPCodecTypeVideo {
		key = f.keyframeStart(out)
	}
	f.mu.Unlock()

	outs := *f.outs.Load()
	if key {
		// Viewers attached from here on missed this keyframe and will ask
		// for another; those in outs get it.
		f.kf.seen()
	}
	for _, v := range outs {
		v.enqueue(outItem{p: out, video: f.kind == webrtc.RTPCodecTypeVideo, key: key})
	}
}

// keyframeStart reports whether p is the first packet of a keyframe, where
// a viewer may begin.
func (f *forwarder) keyframeStart(p *rtp.Packet) bool {
	switch f.codec.mime {
	case webrtc.MimeTypeVP8:
		return vp8KeyframeStart(p.Payload)
	case webrtc.MimeTypeH264:
		sps, idr := h264Keyframe(p.Payload)
		switch {
		case sps:
			f.lastKeyTS, f.haveKeyTS = p.Timestamp, true
			return true
		case idr && (!f.haveKeyTS || f.lastKeyTS != p.Timestamp):
			f.lastKeyTS, f.haveKeyTS = p.Timestamp, true
			return true
		}
	}
	return false
}

// lossWindow counts sequence numbers that never arrived: a packet counts as
// lost once it falls out of the last lossWindowSize numbers without having
// been received, so late packets and retransmissions are not counted.
type lossWindow struct {
	init    bool
	first   uint64 // extended sequence number of the first packet
	highest uint64 // extended sequence number of the newest packet
	seen    [lossWindowSize / 64]uint64
}

const lossWindowSize = 1024

func (w *lossWindow) bit(ext uint64) (word int, mask uint64) {
	i := ext % lossWindowSize
	return int(i / 64), 1 << (i % 64)
}

// add records seq and returns how many packets just became lost.
func (w *lossWindow) add(seq uint16) (lost int) {
	if !w.init {
		ext := 1<<32 + uint64(seq)
		*w = lossWindow{init: true, first: ext, highest: ext}
		wd, m := w.bit(ext)
		w.seen[wd] |= m
		return 0
	}
	// Extend seq to the cycle closest to highest.
	ext := w.highest&^0xffff | uint64(seq)
	switch {
	case ext+0x8000 < w.highest:
		ext += 0x10000
	case ext > w.highest+0x8000:
		ext -= 0x10000
	}
	if ext > w.highest {
		if ext-w.highest >= lossWindowSize {
			// A jump beyond the window: count what the window still misses
			// and start over rather than walking thousands of numbers.
			for s := max(w.first, w.highest-lossWindowSize+1); s <= w.highest; s++ {
				wd, m := w.bit(s)
				if w.seen[wd]&m == 0 {
					lost++
				}
			}
			*w = lossWindow{init: true, first: ext, highest: ext}
			wd, m := w.bit(ext)
			w.seen[wd] |= m
			return lost
		}
		for s := w.highest + 1; s <= ext; s++ {
			// Position s reuses the slot of s-lossWindowSize, which leaves now.
			wd, m := w.bit(s)
			if w.seen[wd]&m == 0 && s-lossWindowSize >= w.first {
				lost++
			}
			w.seen[wd] &^= m
		}
		w.highest = ext
	} else if w.highest-ext >= lossWindowSize || ext < w.first {
		return 0 // too old to tell
	}
	wd, m := w.bit(ext)
	w.seen[wd] |= m
	return lost
}

// keyframeRequester asks the source for a keyframe (PLI) on behalf of
// joining and recovering viewers. Every waiting viewer is served by the
// next keyframe, so a request made while one is already on its way costs
// nothing; otherwise PLIs go out at most once per interval, later requests
// folded into one sent when the interval ends. A crowd joining costs the
// publisher a few keyframes, not one each.
type keyframeRequester struct {
	interval  time.Duration
	send      func()
	sent      prometheus.Counter
	coalesced prometheus.Counter

	mu       sync.Mutex
	lastSent time.Time // last PLI
	lastSeen time.Time // last keyframe forwarded
	pending  *time.Timer
	stopped  bool
}

func newKeyframeRequester(interval time.Duration, m *metrics, send func()) *keyframeRequester {
	return &keyframeRequester{
		interval: interval, send: send,
		sent:      m.keyframes.WithLabelValues("sent"),
		coalesced: m.keyframes.WithLabelValues("coalesced"),
	}
}

// inFlight is how long a PLI is trusted to bring a keyframe; after that a
// new request goes out (the PLI or the keyframe may have been lost).
func (k *keyframeRequester) inFlight() time.Duration { return max(4*k.interval, time.Second) }

func (k *keyframeRequester) request() {
	k.mu.Lock()
	now := time.Now()
	outstanding := k.lastSent.After(k.lastSeen) && now.Sub(k.lastSent) < k.inFlight()
	if k.stopped || k.pending != nil || outstanding {
		k.mu.Unlock()
		k.coalesced.Inc()
		return
	}
	if wait := k.lastSent.Add(k.interval).Sub(now); wait > 0 {
		k.pending = time.AfterFunc(wait, k.fire)
		k.mu.Unlock()
		return
	}
	k.lastSent = now
	k.mu.Unlock()
	k.sent.Inc()
	k.send()
}

// seen records a keyframe passing through; requests made before it are
// served.
func (k *keyframeRequester) seen() {
	k.mu.Lock()
	k.lastSeen = time.Now()
	k.mu.Unlock()
}

func (k *keyframeRequester) fire() {
	k.mu.Lock()
	k.pending = nil
	if k.stopped {
		k.mu.Unlock()
		return
	}
	k.lastSent = time.Now()
	k.mu.Unlock()
	k.sent.Inc()
	k.send()
}

func (k *keyframeRequester) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	if k.pending != nil {
		k.pending.Stop()
		k.pending = nil
	}
}
