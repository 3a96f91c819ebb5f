package live

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the SFU's Prometheus series, registered on the Registerer the
// server passes in (tests pass their own registry).
type metrics struct {
	publishers     prometheus.Gauge
	viewers        prometheus.Gauge
	relays         prometheus.Gauge
	ingestPackets  *prometheus.CounterVec
	ingestBytes    *prometheus.CounterVec
	sentPackets    *prometheus.CounterVec
	sentBytes      *prometheus.CounterVec
	dropped        *prometheus.CounterVec
	lost           *prometheus.CounterVec
	keyframes      *prometheus.CounterVec
	firstKeyframe  prometheus.Histogram
	sessions       *prometheus.CounterVec
	rejected       *prometheus.CounterVec
	audioSent      prometheus.Counter
	videoSent      prometheus.Counter
	audioSentBytes prometheus.Counter
	videoSentBytes prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		publishers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "liveshop_live_publishers", Help: "Publishers (WHIP sessions) currently connected to this node.",
		}),
		viewers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "liveshop_live_viewers", Help: "Viewers (WHEP sessions, relay pulls included) on this node.",
		}),
		relays: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "liveshop_live_relays", Help: "Streams this node pulls from their origin node.",
		}),
		ingestPackets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveshop_live_received_packets_total", Help: "RTP packets received from publishers and origin nodes.",
		}, []string{"kind"}),
		ingestBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveshop_live_received_bytes_total", Help: "RTP payload bytes received from publishers and origin nodes.",
		}, []string{"kind"}),
		sentPackets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveshop_live_forwarded_packets_total", Help: "RTP packets forwarded to viewers.",
		}, []string{"kind"}),
		sentBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveshop_live_forwarded_bytes_total", Help: "RTP payload bytes forwarded to viewers.",
		}, []string{"kind"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveshop_live_dropped_packets_total", Help: "Packets not queued for a viewer that fell behind.",
		}, []string{"kind"}),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveshop_live_lost_packets_total",
			Help: "RTP packets lost: ingest counts sequence gaps from publishers never filled by retransmission; egress sums viewers' receiver reports.",
		}, []string{"direction"}),
		keyframes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveshop_live_keyframe_requests_total",
			Help: "Keyframe requests: sent as PLI to the source, or coalesced into one already due.",
		}, []string{"outcome"}),
		firstKeyframe: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "liveshop_live_whep_first_keyframe_seconds",
			Help:    "Time from a WHEP POST to the first keyframe sent to that viewer.",
			Buckets: []float64{.05, .1, .15, .2, .3, .4, .5, .75, 1, 1.5, 2, 3, 5, 10},
		}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveshop_live_sessions_total", Help: "WHIP and WHEP sessions created.",
		}, []string{"protocol"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liveshop_live_rejected_requests_total", Help: "WHIP/WHEP requests answered with an error, by status.",
		}, []string{"protocol", "status"}),
	}
	for _, c := range []prometheus.Collector{
		m.publishers, m.viewers, m.relays, m.ingestPackets, m.ingestBytes, m.sentPackets, m.sentBytes,
		m.dropped, m.lost, m.keyframes, m.firstKeyframe, m.sessions, m.rejected,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.audioSent = m.sentPackets.WithLabelValues("audio")
	m.videoSent = m.sentPackets.WithLabelValues("video")
	m.audioSentBytes = m.sentBytes.WithLabelValues("audio")
	m.videoSentBytes = m.sentBytes.WithLabelValues("video")
	return m, nil
}
