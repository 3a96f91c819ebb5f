package live

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// outItem is one packet on its way to a viewer. The packet is shared by all
// viewers and never modified after push.
type outItem struct {
	p     *rtp.Packet
	video bool
	key   bool // first packet of a keyframe
}

// viewer is one WHEP session (or a relay pull from another node): its own
// tracks, a bounded queue and one goroutine that writes to the
// PeerConnection, so its pace never holds up the forwarder or other viewers.
type viewer struct {
	*session
	st           *stream
	queue        chan outItem
	audio, video *webrtc.TrackLocalStaticRTP
	posted       time.Time // WHEP POST, for the join-to-keyframe histogram
	done         chan struct{}
	attached     atomic.Bool
	relayPull    bool   // another node pulling this stream
	release      func() // gives back the viewer's place (admission)

	dropVideo atomic.Bool // set by push when the queue was full

	stopOnce     sync.Once
	connectTimer *time.Timer

	// Writer-side state, touched only by run.
	waitKey   bool   // video is skipped until a keyframe starts
	sentVideo bool   // a video packet went out already
	seqOffset uint16 // outgoing video sequence = incoming - seqOffset
	lastSeq   uint16
	gotKey    bool
	askedKey  time.Time
}

// enqueue never blocks: a full queue drops the packet for this viewer only,
// and the writer then resumes video at the next keyframe.
func (v *viewer) enqueue(it outItem) {
	select {
	case v.queue <- it:
	default:
		if it.video {
			v.dropVideo.Store(true)
			v.st.video.dropped.Inc()
		} else {
			v.st.audio.dropped.Inc()
		}
	}
}

// run writes queued packets until the viewer closes.
func (v *viewer) run() {
	m := v.st.sfu.metrics
	var aPk, aBy, vPk, vBy int
	flush := func() {
		if aPk > 0 {
			m.audioSent.Add(float64(aPk))
			m.audioSentBytes.Add(float64(aBy))
		}
		if vPk > 0 {
			m.videoSent.Add(float64(vPk))
			m.videoSentBytes.Add(float64(vBy))
		}
		aPk, aBy, vPk, vBy = 0, 0, 0, 0
	}
	defer flush()
	v.waitKey = true
	for {
		select {
		case <-v.done:
			return
		case it := <-v.queue:
			if it.video {
				if v.writeVideo(it) {
					vPk++
					vBy += len(it.p.Payload)
				}
			} else if v.audio != nil {
				if err := v.audio.WriteRTP(it.p); err == nil {
					aPk++
					aBy += len(it.p.Payload)
				}
			}
			if aPk+vPk >= 256 {
				flush()
			}
		}
	}
}

func (v *viewer) writeVideo(it outItem) bool {
	if v.video == nil {
		return false
	}
	if v.dropVideo.Swap(false) && !v.waitKey {
		v.waitKey = true
		v.askedKey = time.Now()
		v.st.requestKeyframe()
	}
	if v.waitKey {
		if !it.key {
			// Keep asking while waiting: a PLI or the keyframe itself may
			// have been lost on the way.
			if time.Since(v.askedKey) > time.Second {
				v.askedKey = time.Now()
				v.st.requestKeyframe()
			}
			return false
		}
		v.waitKey = false
		if v.sentVideo {
			// Close the gap left by skipped packets: the viewer sees a
			// continuous sequence that resumes on a keyframe, instead of
			// asking for retransmissions of packets it will never get.
			v.seqOffset = it.p.SequenceNumber - (v.lastSeq + 1)
		}
	}
	if it.key && !v.gotKey {
		v.gotKey = true
		if !v.relayPull {
			v.st.sfu.metrics.firstKeyframe.Observe(time.Since(v.posted).Seconds())
		}
	}
	p := rtp.Packet{Header: it.p.Header, Payload: it.p.Payload}
	p.SequenceNumber -= v.seqOffset
	v.lastSeq, v.sentVideo = p.SequenceNumber, true
	return v.video.WriteRTP(&p) == nil
}

// readRTCP serves one sender's feedback: pion's interceptors answer NACKs
// as the packets pass through here; keyframe requests go to the source
// (throttled) and receiver reports feed the loss counter.
func (v *viewer) readRTCP(sender *webrtc.RTPSender) {
	lost := map[uint32]uint32{}
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				v.st.requestKeyframe()
			case *rtcp.ReceiverReport:
				for _, r := range p.Reports {
					prev := lost[r.SSRC]
					lost[r.SSRC] = r.TotalLost
					if r.TotalLost > prev && r.TotalLost-prev < 1<<20 {
						v.st.sfu.metrics.lost.WithLabelValues("egress").Add(float64(r.TotalLost - prev))
					}
				}
			}
		}
	}
}

func (v *viewer) stopConnectTimer() {
	if v.connectTimer != nil {
		v.connectTimer.Stop()
	}
}

// stop detaches v from the forwarders, ends its writer and closes its
// PeerConnection; safe to call more than once.
func (v *viewer) stop() {
	v.stopOnce.Do(func() {
		if v.audio != nil {
			v.st.audio.remove(v)
		}
		if v.video != nil {
			v.st.video.remove(v)
		}
		close(v.done)
		v.stopConnectTimer()
		v.close()
		v.release()
		v.st.sfu.metrics.viewers.Dec()
	})
}
