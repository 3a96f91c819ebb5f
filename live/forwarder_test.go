package live

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// testStream is a stream with VP8 and Opus forwarders and no network; its
// keyframe requests are counted instead of sent.
func testStream(t *testing.T) (*stream, *atomic.Int64) {
	t.Helper()
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	s := &SFU{metrics: m, cfg: Config{KeyframeInterval: time.Hour}}
	st := s.newStreamForTest(1)
	var plis atomic.Int64
	st.audio = newForwarder(webrtc.RTPCodecTypeAudio, codec{mime: webrtc.MimeTypeOpus, clock: 48000}, nil, m)
	st.video = newForwarder(webrtc.RTPCodecTypeVideo, codec{mime: webrtc.MimeTypeVP8, clock: 90000},
		newKeyframeRequester(0, m, func() { plis.Add(1) }), m)
	return st, &plis
}

func (s *SFU) newStreamForTest(id int64) *stream {
	s.log = discardLogger()
	return s.newStream(id, false)
}

func testViewer(t *testing.T, st *stream, queue int) *viewer {
	t.Helper()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "t")
	if err != nil {
		t.Fatal(err)
	}
	return &viewer{st: st, queue: make(chan outItem, queue), video: track, done: make(chan struct{}), waitKey: true}
}

func vp8Packet(seq uint16, key bool) *rtp.Packet {
	payload := []byte{0x10, 0x01, 0, 0, 0x9d, 0x01, 0x2a}
	if key {
		payload[1] = 0x00
	}
	return &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, SSRC: 42}, Payload: payload}
}

func TestSlowViewerLosesOnlyItsOwnPackets(t *testing.T) {
	st, _ := testStream(t)
	// The fast viewer's queue holds the whole burst; the stalled one's
	// holds 16 packets and is never read.
	fast, stalled := testViewer(t, st, 1000), testViewer(t, st, 16)
	st.video.add(fast)
	st.video.add(stalled)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			st.video.push(vp8Packet(uint16(i), i == 0))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("push blocked on a viewer that does not read")
	}
	if n := len(fast.queue); n != 1000 || fast.dropVideo.Load() {
		t.Fatalf("fast viewer got %d packets", n)
	}
	if !stalled.dropVideo.Load() || len(stalled.queue) != cap(stalled.queue) {
		t.Fatalf("stalled viewer: dropped=%v queued=%d", stalled.dropVideo.Load(), len(stalled.queue))
	}
}

func TestViewerResumesOnAKeyframeWithContinuousSequence(t *testing.T) {
	st, plis := testStream(t)
	v := testViewer(t, st, 16)
	send := func(seq uint16, key bool) (sent bool, out uint16) {
		p := vp8Packet(seq, key)
		sent = v.writeVideo(outItem{p: p, video: true, key: key})
		return sent, v.lastSeq
	}
	if ok, _ := send(99, false); ok {
		t.Fatal("sent a delta frame before any keyframe")
	}
	for _, seq := range []uint16{100, 101, 102, 103} {
		if ok, out := send(seq, seq == 100); !ok || out != seq {
			t.Fatalf("packet %d: sent=%v out=%d", seq, ok, out)
		}
	}
	v.dropVideo.Store(true) // the queue overflowed
	for _, seq := range []uint16{110, 111} {
		if ok, _ := send(seq, false); ok {
			t.Fatalf("packet %d sent while waiting for a keyframe", seq)
		}
	}
	if plis.Load() == 0 {
		t.Fatal("no keyframe requested after packets were dropped")
	}
	if ok, out := send(120, true); !ok || out != 104 {
		t.Fatalf("keyframe after the gap: sent=%v out=%d, want 104", ok, out)
	}
	if _, out := send(121, false); out != 105 {
		t.Fatalf("next packet out=%d, want 105", out)
	}
}

func TestForwarderKeepsSequenceAcrossSources(t *testing.T) {
	st, _ := testStream(t)
	v := testViewer(t, st, 64)
	st.video.add(v)
	for i := range 10 {
		st.video.push(vp8Packet(uint16(60000+i), i == 0))
	}
	next := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 7, Timestamp: 5, SSRC: 99}, Payload: []byte{0x10, 0x00, 0, 0}}
	st.video.push(next)
	var seqs []uint16
	var stamps []uint32
	for len(v.queue) > 0 {
		it := <-v.queue
		seqs = append(seqs, it.p.SequenceNumber)
		stamps = append(stamps, it.p.Timestamp)
	}
	if len(seqs) != 11 || seqs[10] != seqs[9]+1 {
		t.Fatalf("sequence across the source change: %v", seqs)
	}
	if d := stamps[10] - stamps[9]; d == 0 || d > 1<<31 {
		t.Fatalf("timestamp went from %d to %d", stamps[9], stamps[10])
	}
}

func TestLossWindow(t *testing.T) {
	cases := []struct {
		name string
		seqs []uint16
		lost int
	}{
		{"counts nothing for an unbroken run", seqRange(0, 3000), 0},
		{"counts a gap once it leaves the window", append(seqRange(0, 100), seqRange(105, 2000)...), 5},
		{"forgives a late packet", append(append(seqRange(0, 100), seqRange(101, 200)...), append([]uint16{100}, seqRange(200, 2000)...)...), 0},
		{"follows the 16-bit wrap", append(seqRange(65000, 65536), seqRange(0, 2000)...), 0},
		{"counts a gap across the wrap", append(seqRange(65000, 65530), seqRange(2, 2000)...), 8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var w lossWindow
			lost := 0
			for _, s := range c.seqs {
				lost += w.add(s)
			}
			if lost != c.lost {
				t.Fatalf("lost %d, want %d", lost, c.lost)
			}
		})
	}
}

func seqRange(from, to int) []uint16 {
	var out []uint16
	for i := from; i < to; i++ {
		out = append(out, uint16(i))
	}
	return out
}

func TestKeyframeRequestsAreCoalesced(t *testing.T) {
	m, _ := newMetrics(prometheus.NewRegistry())
	var sent atomic.Int64
	k := newKeyframeRequester(50*time.Millisecond, m, func() { sent.Add(1) })
	defer k.stop()
	for range 100 {
		k.request()
	}
	if n := sent.Load(); n != 1 {
		t.Fatalf("%d PLIs for a burst while one is in flight", n)
	}
	k.seen() // the keyframe arrived; a later joiner needs a new one
	k.request()
	deadline := time.Now().Add(5 * time.Second)
	for sent.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := sent.Load(); n != 2 {
		t.Fatalf("%d PLIs after a keyframe and a new request, want 2", n)
	}
}
