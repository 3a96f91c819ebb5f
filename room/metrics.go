package room

import "github.com/prometheus/client_golang/prometheus"

// metrics are the hub's Prometheus series, registered on the Registerer
// given to NewHub.
type metrics struct {
	connections prometheus.Gauge
	rooms       prometheus.Gauge
	eventsIn    prometheus.Counter
	eventsOut   prometheus.Counter
	framesOut   prometheus.Counter
	commands    *prometheus.CounterVec
	refused     *prometheus.CounterVec
	dropped     prometheus.Counter
	busLag      prometheus.Histogram
	busResets   prometheus.Counter
	busReconn   prometheus.Counter
	resyncFails prometheus.Counter
	resyncGaps  prometheus.Counter
	commentTime prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "liveshop_room_connections",
			Help: "Open room WebSocket connections on this node."}),
		rooms: prometheus.NewGauge(prometheus.GaugeOpts{Name: "liveshop_room_rooms",
			Help: "Rooms open on this node."}),
		eventsIn: prometheus.NewCounter(prometheus.CounterOpts{Name: "liveshop_room_events_in_total",
			Help: "Room events received from the bus."}),
		eventsOut: prometheus.NewCounter(prometheus.CounterOpts{Name: "liveshop_room_events_out_total",
			Help: "Room events queued to connections (one per event per connection)."}),
		framesOut: prometheus.NewCounter(prometheus.CounterOpts{Name: "liveshop_room_frames_out_total",
			Help: "WebSocket frames written; events_out/frames_out is the batching factor."}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "liveshop_room_commands_total",
			Help: "Client commands received, by type."}, []string{"type"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "liveshop_room_commands_refused_total",
			Help: "Client commands refused, by error code."}, []string{"code"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "liveshop_room_dropped_slow_clients_total",
			Help: "Connections closed because their outbound queue overflowed."}),
		busLag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "liveshop_room_bus_lag_seconds",
			Help:    "Time from publishing an event to this node applying it.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}),
		busResets: prometheus.NewCounter(prometheus.CounterOpts{Name: "liveshop_room_bus_resets_total",
			Help: "Times a room lost events beyond the bus history, or Redis lost its counter, and rebuilt its state."}),
		busReconn: prometheus.NewCounter(prometheus.CounterOpts{Name: "liveshop_room_bus_reconnects_total",
			Help: "Times the Redis pub/sub connection failed and was re-established."}),
		resyncFails: prometheus.NewCounter(prometheus.CounterOpts{Name: "liveshop_room_resync_failures_total",
			Help: "Times a room could not reload its state after a bus reset (it retries until it can)."}),
		resyncGaps: prometheus.NewCounter(prometheus.CounterOpts{Name: "liveshop_room_resync_gaps_total",
			Help: "Resyncs after which connections got the latest comments only: more were missed than a resync sends."}),
		commentTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "liveshop_room_comment_seconds",
			Help:    "Time to check, store and publish one comment.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}}),
	}
	for _, c := range []prometheus.Collector{m.connections, m.rooms, m.eventsIn, m.eventsOut, m.framesOut,
		m.commands, m.refused, m.dropped, m.busLag, m.busResets, m.busReconn, m.resyncFails, m.resyncGaps, m.commentTime} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
