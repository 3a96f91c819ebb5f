package liveclient

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// PublishOptions configure a synthetic WHIP publisher.
type PublishOptions struct {
	Network Network
	Client  *http.Client // default http.DefaultClient
	Key     string       // stream key, sent as bearer token
	Video   string       // VP8 (default) or H264
	NoAudio bool
	NoVideo bool
}

// Publisher is a WHIP session sending synthetic media.
type Publisher struct {
	*conn
	*Exchange
	client *http.Client
	key    string
	codec  string
	video  *webrtc.TrackLocalStaticSample
	audio  *webrtc.TrackLocalStaticSample

	// PLIs counts keyframe requests received from the server.
	PLIs      atomic.Int64
	keyNeeded atomic.Bool
}

// Publish negotiates a WHIP session at endpoint (the .../whip URL) and
// waits until it is connected. Call Send to start media.
func Publish(ctx context.Context, endpoint string, o PublishOptions) (*Publisher, error) {
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.Video == "" {
		o.Video = VP8
	}
	pc, err := newPeerConnection(o.Network, true, o.Video)
	if err != nil {
		return nil, err
	}
	p := &Publisher{conn: newConn(pc), client: o.Client, key: o.Key, codec: o.Video}
	fail := func(err error) (*Publisher, error) {
		_ = pc.Close()
		return nil, err
	}
	if !o.NoVideo {
		c, _ := videoCapability(o.Video)
		p.video, err = webrtc.NewTrackLocalStaticSample(c, "video", "liveclient")
		if err != nil {
			return fail(err)
		}
		tr, err := pc.AddTransceiverFromTrack(p.video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return fail(err)
		}
		go p.readRTCP(tr.Sender())
	}
	if !o.NoAudio {
		p.audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		}, "audio", "liveclient")
		if err != nil {
			return fail(err)
		}
		tr, err := pc.AddTransceiverFromTrack(p.audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return fail(err)
		}
		go p.readRTCP(tr.Sender())
	}
	p.Exchange, err = negotiate(ctx, pc, o.Client, endpoint, o.Key)
	if err != nil {
		return fail(err)
	}
	if err := p.WaitConnected(ctx); err != nil {
		return fail(err)
	}
	return p, nil
}

func (p *Publisher) readRTCP(s *webrtc.RTPSender) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.PLIs.Add(1)
				p.keyNeeded.Store(true)
			}
		}
	}
}

// Send streams synthetic media until ctx ends or the connection goes down:
// video at 30 frames/s adding up to bitrate bits/s (a keyframe every two
// seconds and whenever the server asks), and 20 ms audio frames.
func (p *Publisher) Send(ctx context.Context, bitrate int) error {
	const fps = 30
	frames := NewVideoFrames(p.codec, 1)
	var audioSeed uint64 = 7
	frameBytes := max(bitrate/8/fps, 64)
	start := time.Now()
	var vn, an int64
	vInterval := time.Second / fps
	aInterval := 20 * time.Millisecond
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.Down():
			return fmt.Errorf("liveclient: publisher connection lost")
		case <-t.C:
		}
		el := time.Since(start)
		for p.video != nil && time.Duration(vn)*vInterval <= el {
			key := vn%(2*fps) == 0 || p.keyNeeded.Swap(false)
			size := frameBytes
			if key {
				size *= 3 // keyframes are bigger, as with real encoders
			}
			if err := p.video.WriteSample(media.Sample{Data: frames.Next(size, key), Duration: vInterval}); err != nil {
				return err
			}
			vn++
		}
		for p.audio != nil && time.Duration(an)*aInterval <= el {
			if err := p.audio.WriteSample(media.Sample{Data: OpusFrame(&audioSeed, 120), Duration: aInterval}); err != nil {
				return err
			}
			an++
		}
	}
}

// Close drops the connection without telling the server, as a crashed or
// disconnected encoder would.
func (p *Publisher) Close() error { return p.pc.Close() }

// Stop ends the session with DELETE and closes the connection.
func (p *Publisher) Stop(ctx context.Context) error {
	err := Delete(ctx, p.client, p.Location, p.key)
	_ = p.pc.Close()
	return err
}
