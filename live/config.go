package live

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"
)

// DefaultUDPPort is the single UDP port all ICE traffic shares when
// Config.UDPPort is left zero; operators open just this port in firewalls.
const DefaultUDPPort = 8189

// Config is the live package's section of the server configuration. The zero
// value works for a browser on the same machine; New fills the defaults.
type Config struct {
	// NodeID names this node in the origin registry. Default: random.
	NodeID string
	// AdvertiseURL is this node's HTTP base URL as other nodes reach it
	// (for example http://10.0.0.5:8080); they pull streams from
	// AdvertiseURL + "/api/streams/{id}/whep". Required for multi-node.
	AdvertiseURL string

	// UDPPort is the one UDP port for all ICE traffic (UDP mux). Zero means
	// DefaultUDPPort; a negative value disables the mux so that every
	// PeerConnection uses its own ephemeral port (EphemeralUDPPortMin/Max).
	UDPPort int
	// UDPSockets is how many sockets share the UDP port (SO_REUSEPORT, on
	// Linux): viewers' packets go out through them in parallel instead of
	// queueing on one socket. Default: two per CPU, at most 16.
	UDPSockets int
	// EphemeralUDPPortMin and EphemeralUDPPortMax bound per-connection ports
	// when the mux is off. Zero means any port.
	EphemeralUDPPortMin, EphemeralUDPPortMax uint16
	// ICETCPPort, when positive, also accepts ICE over TCP on this port
	// (for viewers behind UDP-blocking firewalls).
	ICETCPPort int
	// ListenIP restricts the UDP mux and ICE-TCP listener to one local IP.
	// Empty: every address that passes the filters.
	ListenIP string
	// AnnouncedIPs are the public addresses to announce instead of the local
	// ones (1:1 NAT, cloud VMs). Each entry is "PUBLIC" or "PUBLIC/LOCAL" to
	// rewrite only the candidate of one local address.
	AnnouncedIPs []string
	// Interfaces keeps only the named network interfaces for candidates.
	// Empty: all interfaces.
	Interfaces []string
	// IPNetworks keeps only local addresses inside these CIDRs (for example
	// "127.0.0.0/8" in tests, "10.0.0.0/8" on a private network). Empty: all.
	IPNetworks []string
	// IncludeLoopback gathers 127.0.0.1/::1 candidates. Off by default as a
	// browser on the same machine reaches the LAN address; tests and
	// loopback-only namespaces turn it on. A node with no other address
	// and no Interfaces, IPNetworks or ListenIP turns it on itself, with a
	// warning (an offline laptop).
	IncludeLoopback bool
	// IPv6 also gathers IPv6 candidates.
	IPv6 bool
	// MDNS is the multicast DNS mode: "disabled" (default), "query" (resolve
	// browsers' .local candidates) or "gather" (also hide our own address).
	MDNS string
	// ICEServers are STUN/TURN servers handed to WHIP/WHEP clients in Link
	// headers. The server itself announces AnnouncedIPs instead.
	ICEServers []ICEServer

	// ICEDisconnectedTimeout, ICEFailedTimeout and ICEKeepalive tune how fast
	// a vanished peer is noticed. Defaults: 4s, 8s, 1s.
	ICEDisconnectedTimeout, ICEFailedTimeout, ICEKeepalive time.Duration
	// ConnectTimeout closes sessions that never finish ICE/DTLS, so offers
	// nobody answers do not hold goroutines and sockets. Default 10s.
	ConnectTimeout time.Duration
	// PublisherGrace is how long a stream stays live after its publisher
	// vanished without DELETE, or after its origin node's claim lapsed; a
	// reconnect within it continues the stream. Default 10s.
	PublisherGrace time.Duration
	// KeyframeInterval is the minimum time between keyframe requests (PLI)
	// sent to a publisher; viewers joining while a keyframe is on its way
	// share it. Default 250ms.
	KeyframeInterval time.Duration
	// ViewerQueue is each viewer's packet queue; a viewer that falls this far
	// behind loses packets and resumes at the next keyframe. Default 512.
	ViewerQueue int
	// NACKBuffer is the number of sent video packets kept per viewer for
	// retransmission; a power of two. Default 256.
	NACKBuffer uint16
	// MaxViewers caps viewers (plus relay pulls) on this node; 0 is no cap.
	MaxViewers int
	// MaxViewersPerStream caps one stream's viewers on this node (relay
	// pulls aside), so one show cannot take every place; 0 is no cap.
	MaxViewersPerStream int
	// MaxViewersPerIP caps the WHEP sessions one client address (an IPv6
	// client: its /64) holds open on this node, connected or not; 0 is no
	// cap. The address is the request's RealIP, as the server's trusted
	// proxies decide.
	MaxViewersPerIP int
	// WHEPRate is how many WHEP offers one client address may post per
	// WHEPRateWindow (a token bucket: bursts up to WHEPRate, then evenly
	// spread); 0 is no limit. WHEPRateWindow defaults to a minute.
	WHEPRate       int
	WHEPRateWindow time.Duration
	// MaxSDPBytes limits WHIP/WHEP request bodies. Default 64 KiB.
	MaxSDPBytes int64
	// RetryAfter is the delay suggested to players when a stream is not
	// live. Default 5s.
	RetryAfter time.Duration
	// CORSOrigins lists origins allowed to call WHIP/WHEP from a browser.
	// Default: "*".
	CORSOrigins []string

	// OriginTTL is the lifetime of this node's origin claim in the registry;
	// it is refreshed every third of it. A claim not refreshed for as long
	// lapses: its node is presumed dead, any node may take its streams
	// over, and they wait PublisherGrace for their publishers, relays
	// keeping their viewers. Default 10s.
	OriginTTL time.Duration
	// RelayIdle is how long a relay pull stays open without local viewers.
	// Default 5s.
	RelayIdle time.Duration
	// HTTPClient makes relay pulls to origin nodes. Default: 10s timeout.
	HTTPClient *http.Client
}

// ICEServer is a STUN or TURN server that clients should use, as advertised
// in a WHIP/WHEP Link header.
type ICEServer struct {
	URLs       []string
	Username   string
	Credential string
}

func (c *Config) fillDefaults() error {
	if c.NodeID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		c.NodeID = hex.EncodeToString(b[:])
	}
	c.AdvertiseURL = strings.TrimRight(c.AdvertiseURL, "/")
	if c.UDPPort == 0 {
		c.UDPPort = DefaultUDPPort
	}
	if c.UDPSockets <= 0 {
		c.UDPSockets = min(16, 2*runtime.GOMAXPROCS(0))
	}
	if c.ListenIP != "" && net.ParseIP(c.ListenIP) == nil {
		return fmt.Errorf("live: listen IP %q is not an IP address", c.ListenIP)
	}
	switch strings.ToLower(c.MDNS) {
	case "", "disabled", "off":
		c.MDNS = "disabled"
	case "query", "gather":
		c.MDNS = strings.ToLower(c.MDNS)
	default:
		return fmt.Errorf("live: mDNS mode %q: use disabled, query or gather", c.MDNS)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ICEDisconnectedTimeout, 4*time.Second)
	def(&c.ICEFailedTimeout, 8*time.Second)
	def(&c.ICEKeepalive, time.Second)
	def(&c.ConnectTimeout, 10*time.Second)
	def(&c.WHEPRateWindow, time.Minute)
	def(&c.PublisherGrace, 10*time.Second)
	def(&c.KeyframeInterval, 250*time.Millisecond)
	def(&c.RetryAfter, 5*time.Second)
	def(&c.OriginTTL, 10*time.Second)
	def(&c.RelayIdle, 5*time.Second)
	if c.ViewerQueue <= 0 {
		c.ViewerQueue = 512
	}
	if c.NACKBuffer == 0 {
		c.NACKBuffer = 256
	}
	if c.NACKBuffer&(c.NACKBuffer-1) != 0 {
		return fmt.Errorf("live: NACK buffer %d is not a power of two", c.NACKBuffer)
	}
	if c.MaxSDPBytes <= 0 {
		c.MaxSDPBytes = 64 << 10
	}
	if len(c.CORSOrigins) == 0 {
		c.CORSOrigins = []string{"*"}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	for _, cidr := range c.IPNetworks {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			return fmt.Errorf("live: IP network %q: %w", cidr, err)
		}
	}
	for _, a := range c.AnnouncedIPs {
		pub, local, _ := strings.Cut(a, "/")
		if net.ParseIP(pub) == nil || (local != "" && net.ParseIP(local) == nil) {
			return fmt.Errorf("live: announced IP %q: want PUBLIC or PUBLIC/LOCAL", a)
		}
	}
	for _, s := range c.ICEServers {
		for _, u := range s.URLs {
			if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") &&
				!strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				return fmt.Errorf("live: ICE server %q: want a stun: or turn: URL", u)
			}
		}
	}
	return nil
}
