package liveclient

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// SubscribeOptions configure a WHEP viewer.
type SubscribeOptions struct {
	Network Network
	Client  *http.Client // default http.DefaultClient
	// Video lists the video codecs offered, in order of preference.
	// Default: VP8 and H264.
	Video []string
	// NoAudio leaves audio out of the offer.
	NoAudio bool
}

// Subscriber is a WHEP session that counts what it receives.
type Subscriber struct {
	*conn
	*Exchange
	client *http.Client
	// Posted is when the offer was sent, for join latency; Answered when
	// the answer came back.
	Posted, Answered time.Time
	iceUpAt          atomic.Int64 // unix nanoseconds of ICE connected

	AudioPackets atomic.Int64
	VideoPackets atomic.Int64
	VideoBytes   atomic.Int64
	Keyframes    atomic.Int64

	firstKey     chan struct{}
	firstKeyOnce sync.Once
	firstKeyAt   atomic.Int64 // unix nanoseconds

	mu    sync.Mutex
	seqs  map[uint32]*seqCount // by SSRC
	codec string               // of the video track received
	wg    sync.WaitGroup
}

type seqCount struct {
	init     bool
	first    int64
	highest  int64
	received int64
}

func (c *seqCount) add(seq uint16) {
	if !c.init {
		c.init, c.first, c.highest = true, int64(seq), int64(seq)
		c.received = 1
		return
	}
	ext := c.highest&^0xffff | int64(seq)
	switch {
	case ext+0x8000 < c.highest:
		ext += 0x10000
	case ext > c.highest+0x8000:
		ext -= 0x10000
	}
	if ext > c.highest {
		c.highest = ext
	}
	c.received++
}

// Subscribe sends a WHEP offer to endpoint (the .../whep URL) and applies
// the answer; media starts once the connection is up. header is added to
// the POST (nil for none).
func Subscribe(ctx context.Context, endpoint string, o SubscribeOptions) (*Subscriber, error) {
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if len(o.Video) == 0 {
		o.Video = []string{VP8, H264}
	}
	pc, err := newPeerConnection(o.Network, false, o.Video...)
	if err != nil {
		return nil, err
	}
	s := &Subscriber{conn: newConn(pc), client: o.Client, firstKey: make(chan struct{}), seqs: map[uint32]*seqCount{}}
	recv := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}
	if !o.NoAudio {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, recv); err != nil {
			_ = pc.Close()
			return nil, err
		}
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, recv); err != nil {
		_ = pc.Close()
		return nil, err
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		s.wg.Add(1)
		defer s.wg.Done()
		s.read(t, r)
	})
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		if st == webrtc.ICEConnectionStateConnected {
			s.iceUpAt.CompareAndSwap(0, time.Now().UnixNano())
		}
	})
	s.Posted = time.Now()
	s.Exchange, err = negotiate(ctx, pc, o.Client, endpoint, "")
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	s.Answered = time.Now()
	return s, nil
}

func (s *Subscriber) read(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	go func() {
		for {
			if _, _, err := r.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	codec := VP8
	if t.Codec().MimeType == webrtc.MimeTypeH264 {
		codec = H264
	}
	video := t.Kind() == webrtc.RTPCodecTypeVideo
	if video {
		s.mu.Lock()
		s.codec = codec
		s.mu.Unlock()
	}
	var lastKeyTS uint32
	haveKey := false
	for {
		p, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		s.mu.Lock()
		c := s.seqs[uint32(t.SSRC())]
		if c == nil {
			c = &seqCount{}
			s.seqs[uint32(t.SSRC())] = c
		}
		c.add(p.SequenceNumber)
		s.mu.Unlock()
		if !video {
			s.AudioPackets.Add(1)
			continue
		}
		s.VideoPackets.Add(1)
		s.VideoBytes.Add(int64(len(p.Payload)))
		if IsKeyframeStart(codec, p.Payload) && (!haveKey || p.Timestamp != lastKeyTS) {
			haveKey, lastKeyTS = true, p.Timestamp
			s.Keyframes.Add(1)
			s.firstKeyOnce.Do(func() {
				s.firstKeyAt.Store(time.Now().UnixNano())
				close(s.firstKey)
			})
		}
	}
}

// Codec is the video codec received, VP8 or H264; "" before video arrives.
func (s *Subscriber) Codec() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codec
}

// FirstKeyframe is closed when the first keyframe arrived.
func (s *Subscriber) FirstKeyframe() <-chan struct{} { return s.firstKey }

// JoinLatency is the time from POST to the first keyframe (0 before).
func (s *Subscriber) JoinLatency() time.Duration {
	at := s.firstKeyAt.Load()
	if at == 0 {
		return 0
	}
	return time.Unix(0, at).Sub(s.Posted)
}

// ICELatency is the time from POST to ICE connectivity (0 before).
func (s *Subscriber) ICELatency() time.Duration {
	at := s.iceUpAt.Load()
	if at == 0 {
		return 0
	}
	return time.Unix(0, at).Sub(s.Posted)
}

// Loss returns packets expected (from sequence numbers) and received, over
// all tracks.
func (s *Subscriber) Loss() (expected, received int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.seqs {
		expected += c.highest - c.first + 1
		received += c.received
	}
	return expected, received
}

// Close ends the connection without DELETE.
func (s *Subscriber) Close() error {
	err := s.pc.Close()
	s.wg.Wait()
	return err
}

// Stop leaves with DELETE and closes the connection.
func (s *Subscriber) Stop(ctx context.Context) error {
	err := Delete(ctx, s.client, s.Location, "")
	_ = s.Close()
	return err
}
