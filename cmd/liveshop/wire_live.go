package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/liveshop/liveshop/live"
)

// Default viewer caps. A node forwards to about 900 viewers per core at
// 1.5 Mbit/s (the design target; README, Performance), and 2,000 viewers
// are already 3 Gbit/s of egress, more than most servers' network: past
// that, another viewer degrades everyone's video, so refusing with 503
// (players retry, or a load balancer picks another node) is better. One
// stream may take half a node, so a second show on it always has room.
// Operators with bigger machines raise them; 0 lifts a cap.
const (
	defaultMaxViewers          = 2000
	defaultMaxViewersPerStream = 1000
)

// liveFlags registers the video flags on fs and returns a function that
// completes c once the flags are parsed (list flags are split there).
func liveFlags(fs *flag.FlagSet, env *envReader, c *live.Config) func() error {
	fs.IntVar(&c.UDPPort, "webrtc-udp-port", env.integer("LIVESHOP_WEBRTC_UDP_PORT", live.DefaultUDPPort), "the one UDP port for all WebRTC media (open it in the firewall); -1 gives every connection its own ephemeral port [LIVESHOP_WEBRTC_UDP_PORT]")
	fs.IntVar(&c.ICETCPPort, "webrtc-tcp-port", env.integer("LIVESHOP_WEBRTC_TCP_PORT", 0), "also accept WebRTC over TCP on this port, for viewers behind UDP-blocking firewalls; 0 is off [LIVESHOP_WEBRTC_TCP_PORT]")
	fs.StringVar(&c.ListenIP, "webrtc-listen-ip", env.str("LIVESHOP_WEBRTC_LISTEN_IP", ""), "local IP for WebRTC media; empty is every address that passes the filters [LIVESHOP_WEBRTC_LISTEN_IP]")
	announce := fs.String("webrtc-announce-ips", env.str("LIVESHOP_WEBRTC_ANNOUNCE_IPS", ""), "comma-separated public IPs to announce instead of local ones (1:1 NAT, cloud VMs); PUBLIC or PUBLIC/LOCAL [LIVESHOP_WEBRTC_ANNOUNCE_IPS]")
	ifaces := fs.String("webrtc-interfaces", env.str("LIVESHOP_WEBRTC_INTERFACES", ""), "comma-separated network interfaces to use for WebRTC; empty is all [LIVESHOP_WEBRTC_INTERFACES]")
	nets := fs.String("webrtc-ip-networks", env.str("LIVESHOP_WEBRTC_IP_NETWORKS", ""), "comma-separated CIDRs of local addresses to use for WebRTC; empty is all [LIVESHOP_WEBRTC_IP_NETWORKS]")
	fs.BoolVar(&c.IncludeLoopback, "webrtc-loopback", env.boolean("LIVESHOP_WEBRTC_LOOPBACK", false), "offer 127.0.0.1 candidates (loopback-only hosts, tests) [LIVESHOP_WEBRTC_LOOPBACK]")
	fs.BoolVar(&c.IPv6, "webrtc-ipv6", env.boolean("LIVESHOP_WEBRTC_IPV6", false), "also use IPv6 for WebRTC [LIVESHOP_WEBRTC_IPV6]")
	fs.StringVar(&c.MDNS, "webrtc-mdns", env.str("LIVESHOP_WEBRTC_MDNS", "disabled"), "multicast DNS: disabled, query (resolve browsers' .local candidates) or gather [LIVESHOP_WEBRTC_MDNS]")
	servers := fs.String("webrtc-ice-servers", env.str("LIVESHOP_WEBRTC_ICE_SERVERS", ""), "comma-separated stun:/turn: URLs handed to browsers and encoders [LIVESHOP_WEBRTC_ICE_SERVERS]")
	turnUser := fs.String("webrtc-turn-username", env.str("LIVESHOP_WEBRTC_TURN_USERNAME", ""), "username for the turn: servers [LIVESHOP_WEBRTC_TURN_USERNAME]")
	turnPass := fs.String("webrtc-turn-credential", env.secret("LIVESHOP_WEBRTC_TURN_CREDENTIAL", ""), "password for the turn: servers [LIVESHOP_WEBRTC_TURN_CREDENTIAL, LIVESHOP_WEBRTC_TURN_CREDENTIAL_FILE]")
	fs.StringVar(&c.AdvertiseURL, "live-advertise-url", env.str("LIVESHOP_LIVE_ADVERTISE_URL", ""), "this node's base URL as other nodes reach it, to pull streams published here (default: http://<listen address>) [LIVESHOP_LIVE_ADVERTISE_URL]")
	fs.StringVar(&c.NodeID, "live-node-id", env.str("LIVESHOP_LIVE_NODE_ID", ""), "this node's name among video nodes; default random [LIVESHOP_LIVE_NODE_ID]")
	fs.DurationVar(&c.PublisherGrace, "live-grace", env.duration("LIVESHOP_LIVE_GRACE", 10*time.Second), "how long a stream stays live after its publisher drops, or after its origin node's claim lapses (the node crashed); a reconnect within it, to any node, continues the stream [LIVESHOP_LIVE_GRACE]")
	fs.IntVar(&c.MaxViewers, "live-max-viewers", env.integer("LIVESHOP_LIVE_MAX_VIEWERS", defaultMaxViewers), "video viewers (and relay pulls) this node accepts; beyond it WHEP answers 503; 0 is no limit [LIVESHOP_LIVE_MAX_VIEWERS]")
	fs.IntVar(&c.MaxViewersPerStream, "live-max-viewers-per-stream", env.integer("LIVESHOP_LIVE_MAX_VIEWERS_PER_STREAM", defaultMaxViewersPerStream), "video viewers one stream may have on this node, so one show cannot take every place; beyond it WHEP answers 503; 0 is no limit [LIVESHOP_LIVE_MAX_VIEWERS_PER_STREAM]")
	fs.IntVar(&c.MaxViewersPerIP, "live-max-viewers-per-ip", env.integer("LIVESHOP_LIVE_MAX_VIEWERS_PER_IP", 20), "WHEP sessions one client IP (IPv6: its /64) may hold open on this node, connected or not; beyond it 429; 0 is no limit [LIVESHOP_LIVE_MAX_VIEWERS_PER_IP]")
	fs.IntVar(&c.WHEPRate, "live-whep-rate", env.integer("LIVESHOP_LIVE_WHEP_RATE", 30), "WHEP offers one client IP may post per --live-whep-rate-window (bursts up to it, then evenly spread); beyond it 429; 0 is no limit [LIVESHOP_LIVE_WHEP_RATE]")
	fs.DurationVar(&c.WHEPRateWindow, "live-whep-rate-window", env.duration("LIVESHOP_LIVE_WHEP_RATE_WINDOW", time.Minute), "window of --live-whep-rate [LIVESHOP_LIVE_WHEP_RATE_WINDOW]")
	fs.DurationVar(&c.ConnectTimeout, "live-connect-timeout", env.duration("LIVESHOP_LIVE_CONNECT_TIMEOUT", 10*time.Second), "how long a WHIP/WHEP session may take to connect (ICE and DTLS) before it is closed, with its goroutines and sockets [LIVESHOP_LIVE_CONNECT_TIMEOUT]")
	fs.DurationVar(&c.OriginTTL, "live-origin-ttl", env.duration("LIVESHOP_LIVE_ORIGIN_TTL", 10*time.Second), "lifetime of a node's claim on its streams in Redis, refreshed every third of it; a node silent this long is presumed dead and its streams wait --live-grace for their publishers on any node [LIVESHOP_LIVE_ORIGIN_TTL]")
	return func() error {
		for _, v := range []struct {
			flag  string
			value int
		}{{"--live-max-viewers", c.MaxViewers}, {"--live-max-viewers-per-stream", c.MaxViewersPerStream},
			{"--live-max-viewers-per-ip", c.MaxViewersPerIP}, {"--live-whep-rate", c.WHEPRate}} {
			if v.value < 0 {
				return fmt.Errorf("%s must be 0 (no limit) or more", v.flag)
			}
		}
		if c.WHEPRateWindow <= 0 || c.ConnectTimeout <= 0 {
			return fmt.Errorf("--live-whep-rate-window and --live-connect-timeout must be positive")
		}
		c.AnnouncedIPs = splitList(*announce)
		c.Interfaces = splitList(*ifaces)
		c.IPNetworks = splitList(*nets)
		for _, u := range splitList(*servers) {
			s := live.ICEServer{URLs: []string{u}}
			if strings.HasPrefix(u, "turn") {
				s.Username, s.Credential = *turnUser, *turnPass
			}
			c.ICEServers = append(c.ICEServers, s)
		}
		return nil
	}
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// wireLive starts the SFU: stream keys are checked by commerce, stream
// starts and ends go to the stream record and its room, a stream its seller
// ends through the API stops here and its room is told, a rotated key cuts
// off the publisher still using the old one, and with Redis the
// origin registry lets any node serve any stream. A stream whose origin
// crashed waits --live-grace for its publisher, on any node, once the dead
// origin's claim has lapsed (--live-origin-ttl); then it is ended like one
// whose publisher left, as is a stream recorded live that this single node
// restarted under, after --live-grace plus --live-origin-ttl. Call it
// after wireRoom.
func (a *app) wireLive() error {
	var reg live.OriginRegistry
	if a.redis != nil {
		reg = live.NewRedisRegistry(a.redis, a.cfg.RedisPrefix)
	}
	sfu, err := live.New(a.cfg.Live, live.Deps{
		Auth:        a.commerce,
		Events:      roomStreamEvents{a},
		Registry:    reg,
		LiveStreams: liveRecords{a.commerce},
		Catalog:     liveRecords{a.commerce},
		Metrics:     a.metrics,
		Logger:      a.log.With("component", "live"),
	})
	if err != nil {
		return fmt.Errorf("video: %w", err)
	}
	a.sfu = sfu
	a.onClose(func() { sfu.Close() })
	// A group of its own, not a.api: WHIP's bearer token is a stream key,
	// which commerce's session middleware on a.api would refuse as a
	// session token. WHEP is anonymous.
	live.NewHandler(sfu).Register(a.echo.Group("/api"))
	a.openapi = append(a.openapi, live.OpenAPI)
	return nil
}

// liveListening tells the SFU its address once the server listens, unless
// --live-advertise-url named one.
func (a *app) liveListening(addr string) {
	if a.sfu != nil && a.cfg.Live.AdvertiseURL == "" {
		a.sfu.SetAdvertiseURL("http://" + addr)
	}
}
