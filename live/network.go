package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// network is the ICE side shared by every PeerConnection of a node: the
// setting engine and the sockets (UDP mux, ICE-TCP listener) it owns.
type network struct {
	se      webrtc.SettingEngine
	udpMux  ice.UDPMux
	tcpMux  ice.TCPMux
	tcpLn   net.Listener
	closers []func() error
}

// keepIP is the local-address filter built from IncludeLoopback, ListenIP
// and IPNetworks; candidates and mux sockets use the same rule.
func (c *Config) keepIP() func(net.IP) bool {
	var nets []*net.IPNet
	for _, cidr := range c.IPNetworks {
		_, n, _ := net.ParseCIDR(cidr)
		nets = append(nets, n)
	}
	listen := net.ParseIP(c.ListenIP)
	return func(ip net.IP) bool {
		if ip.IsLoopback() && !c.IncludeLoopback {
			return false
		}
		if !c.IPv6 && ip.To4() == nil {
			return false
		}
		if listen != nil && !listen.Equal(ip) {
			return false
		}
		if len(nets) == 0 {
			return true
		}
		return slices.ContainsFunc(nets, func(n *net.IPNet) bool { return n.Contains(ip) })
	}
}

func (c *Config) keepInterface() func(string) bool {
	if len(c.Interfaces) == 0 {
		return nil
	}
	return func(name string) bool { return slices.Contains(c.Interfaces, name) }
}

// filtered reports whether the operator chose which local addresses carry
// media (interfaces, IP networks, a listen IP), and describes the choice.
func (c *Config) filtered() (bool, string) {
	var f []string
	if len(c.Interfaces) > 0 {
		f = append(f, "interfaces "+strings.Join(c.Interfaces, ","))
	}
	if len(c.IPNetworks) > 0 {
		f = append(f, "IP networks "+strings.Join(c.IPNetworks, ","))
	}
	if c.ListenIP != "" {
		f = append(f, "listen IP "+c.ListenIP)
	}
	if !c.IncludeLoopback {
		f = append(f, "loopback off")
	}
	if !c.IPv6 {
		f = append(f, "IPv6 off")
	}
	return len(c.Interfaces) > 0 || len(c.IPNetworks) > 0 || c.ListenIP != "", strings.Join(f, ", ")
}

// fallBackToLoopback keeps video working on a machine whose only network
// is loopback (an offline laptop running the demo): when no local address
// passes the filters and the operator chose none, media goes over loopback
// (IncludeLoopback), for publishers and viewers on the same machine, with
// a warning. Without it the node had no address for its UDP port and the
// whole server, shop and chat included, refused to start. Filters the
// operator set that match nothing stay an error (newUDPMux): they name an
// address that is not there, and serving elsewhere would hide that.
func (c *Config) fallBackToLoopback(log *slog.Logger) error {
	if chosen, _ := c.filtered(); chosen || c.IncludeLoopback {
		return nil
	}
	addrs, err := c.localAddresses()
	if err != nil {
		return fmt.Errorf("live: list local addresses: %w", err)
	}
	if len(addrs) > 0 {
		return nil
	}
	c.IncludeLoopback = true
	log.Warn("no network address but loopback, so video works on this machine only " +
		"(publishers and viewers on 127.0.0.1); connect a network and restart to serve other machines")
	return nil
}

func newNetwork(cfg *Config, log *slog.Logger) (*network, error) {
	if err := cfg.fallBackToLoopback(log); err != nil {
		return nil, err
	}
	n := &network{}
	se := &n.se
	lf := pionLogger{log: log.With("component", "pion")}
	se.LoggerFactory = lf
	se.DisableMediaEngineCopy(true) // every PeerConnection gets its own engine
	se.SetICETimeouts(cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout, cfg.ICEKeepalive)
	// A lost DTLS flight (a handshake racing the peer's ICE, a busy
	// machine) is resent after 300ms rather than pion's 1s, which doubles
	// on every loss and stretches joins to seconds.
	se.SetDTLSRetransmissionInterval(300 * time.Millisecond)
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	se.SetIPFilter(cfg.keepIP())
	if f := cfg.keepInterface(); f != nil {
		se.SetInterfaceFilter(f)
	}
	switch cfg.MDNS {
	case "query":
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryOnly)
	case "gather":
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryAndGather)
	default:
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}

	types := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if cfg.IPv6 {
		types = append(types, webrtc.NetworkTypeUDP6)
	}

	if cfg.UDPPort > 0 {
		mux, err := newUDPMux(cfg, lf)
		if err != nil {
			return nil, err
		}
		n.udpMux = mux
		n.closers = append(n.closers, mux.Close)
		se.SetICEUDPMux(mux)
	} else if cfg.EphemeralUDPPortMin > 0 || cfg.EphemeralUDPPortMax > 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.EphemeralUDPPortMin, cfg.EphemeralUDPPortMax); err != nil {
			return nil, fmt.Errorf("live: UDP port range: %w", err)
		}
	}

	if cfg.ICETCPPort > 0 {
		addr := net.JoinHostPort(cfg.ListenIP, fmt.Sprint(cfg.ICETCPPort))
		ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
		if err != nil {
			n.close()
			return nil, fmt.Errorf("live: ICE-TCP listener: %w", err)
		}
		n.tcpLn = ln
		n.tcpMux = ice.NewTCPMuxDefault(ice.TCPMuxParams{
			Listener: ln, Logger: lf.NewLogger("tcpmux"), ReadBufferSize: 64, WriteBufferSize: 4 << 20,
		})
		n.closers = append(n.closers, n.tcpMux.Close)
		se.SetICETCPMux(n.tcpMux)
		types = append(types, webrtc.NetworkTypeTCP4)
		if cfg.IPv6 {
			types = append(types, webrtc.NetworkTypeTCP6)
		}
	}
	se.SetNetworkTypes(types)

	if len(cfg.AnnouncedIPs) > 0 {
		var rules []webrtc.ICEAddressRewriteRule
		var plain []string
		for _, a := range cfg.AnnouncedIPs {
			pub, local, _ := strings.Cut(a, "/")
			if local == "" {
				plain = append(plain, pub)
				continue
			}
			rules = append(rules, webrtc.ICEAddressRewriteRule{
				External: []string{pub}, Local: local,
				AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
			})
		}
		if len(plain) > 0 {
			rules = append(rules, webrtc.ICEAddressRewriteRule{
				External: plain, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
			})
		}
		if err := se.SetICEAddressRewriteRules(rules...); err != nil {
			n.close()
			return nil, fmt.Errorf("live: announced IPs: %w", err)
		}
	}
	return n, nil
}

// newUDPMux listens on the UDP port on every local address that passes
// the filters, each through Config.UDPSockets sockets (see
// shardedUDPConn), and muxes all ICE traffic over them.
func newUDPMux(cfg *Config, lf pionLogger) (*ice.MultiUDPMuxDefault, error) {
	addrs, err := cfg.localAddresses()
	if err != nil {
		return nil, fmt.Errorf("live: list local addresses: %w", err)
	}
	if len(addrs) == 0 {
		_, filters := cfg.filtered()
		return nil, fmt.Errorf("live: UDP port %d: no local address passes the filters (%s)", cfg.UDPPort, filters)
	}
	var muxes []ice.UDPMux
	for _, ip := range addrs {
		conn, err := listenSharded(netip.AddrPortFrom(ip, uint16(cfg.UDPPort)), cfg.UDPSockets, 4<<20)
		if err != nil {
			for _, m := range muxes {
				_ = m.Close()
			}
			return nil, fmt.Errorf("live: UDP port %d on %s: %w", cfg.UDPPort, ip, err)
		}
		muxes = append(muxes, ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn, Logger: lf.NewLogger("udpmux")}))
	}
	return ice.NewMultiUDPMuxDefault(muxes...), nil
}

func (n *network) close() error {
	var errs []error
	for i := len(n.closers) - 1; i >= 0; i-- {
		errs = append(errs, n.closers[i]())
	}
	n.closers = nil
	return errors.Join(errs...)
}

// pionLogger sends pion's warnings and errors to slog; its chatter below
// warning level is dropped.
type pionLogger struct{ log *slog.Logger }

func (p pionLogger) NewLogger(scope string) logging.LeveledLogger {
	return pionScoped{log: p.log.With("scope", scope)}
}

type pionScoped struct{ log *slog.Logger }

func (pionScoped) Trace(string)          {}
func (pionScoped) Tracef(string, ...any) {}
func (pionScoped) Debug(string)          {}
func (pionScoped) Debugf(string, ...any) {}
func (pionScoped) Info(string)           {}
func (pionScoped) Infof(string, ...any)  {}
func (p pionScoped) Warn(msg string)     { p.log.Debug(msg) }
func (p pionScoped) Warnf(f string, a ...any) {
	p.log.Debug(fmt.Sprintf(f, a...))
}
func (p pionScoped) Error(msg string) { p.log.Warn(msg) }
func (p pionScoped) Errorf(f string, a ...any) {
	p.log.Warn(fmt.Sprintf(f, a...))
}
