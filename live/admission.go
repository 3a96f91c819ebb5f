package live

import (
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// maxTrackedClients bounds the per-client table; past it, clients with
// nothing open and a full allowance are forgotten at once rather than at
// the next maintenance round.
const maxTrackedClients = 1 << 16

// admission holds the WHEP limits of one node: per client address, a
// token bucket of offers (Config.WHEPRate per Config.WHEPRateWindow) and
// a cap on open sessions (Config.MaxViewersPerIP); per stream and per node,
// caps on viewers (Config.MaxViewersPerStream, Config.MaxViewers). Relay
// pulls from other nodes count only against the node's cap: they carry the
// viewers of a whole node. Counts are this node's own; there are no
// cluster-wide video viewer counts, so a stream's cap applies per node.
type admission struct {
	cfg *Config
	now func() time.Time

	mu      sync.Mutex
	clients map[string]*clientUsage
	streams map[int64]int // viewers per stream, relay pulls aside
	viewers int           // viewers on the node, relay pulls included
}

type clientUsage struct {
	sessions int
	tokens   float64
	refilled time.Time
}

func newAdmission(cfg *Config) *admission {
	return &admission{cfg: cfg, now: time.Now, clients: map[string]*clientUsage{}, streams: map[int64]int{}}
}

// clientKey is the address limits count under: an IPv6 client is its /64,
// the block one host or household usually gets, so a client cannot dodge
// its limits by hopping between its own addresses.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// usage returns client's entry, creating it with a full allowance; the
// caller holds ad.mu.
func (ad *admission) usage(client string, now time.Time) *clientUsage {
	u := ad.clients[client]
	if u == nil {
		if len(ad.clients) >= maxTrackedClients {
			ad.pruneLocked(now)
		}
		u = &clientUsage{tokens: float64(ad.cfg.WHEPRate), refilled: now}
		ad.clients[client] = u
	}
	return u
}

// offer spends one of client's offers; every WHEP POST costs one, whatever
// its outcome, so a flood of bad or unanswerable offers stops here.
func (ad *admission) offer(client string) error {
	if ad.cfg.WHEPRate <= 0 {
		return nil
	}
	ad.mu.Lock()
	defer ad.mu.Unlock()
	now := ad.now()
	u := ad.usage(client, now)
	capacity := float64(ad.cfg.WHEPRate)
	perSecond := capacity / ad.cfg.WHEPRateWindow.Seconds()
	u.tokens = min(capacity, u.tokens+now.Sub(u.refilled).Seconds()*perSecond)
	u.refilled = now
	if u.tokens < 1 {
		wait := time.Duration((1 - u.tokens) / perSecond * float64(time.Second))
		return withRetryAfter(ErrRateLimited, wait)
	}
	u.tokens--
	return nil
}

// admit takes a place for a viewer of streamID from client (a relay pull
// from another node when relay is set), or says why there is none. The
// returned release gives the place back; it may be called more than once.
func (ad *admission) admit(client string, streamID int64, relay bool) (release func(), err error) {
	ad.mu.Lock()
	defer ad.mu.Unlock()
	var u *clientUsage
	if !relay {
		if limit := ad.cfg.MaxViewersPerIP; limit > 0 {
			u = ad.usage(client, ad.now())
			if u.sessions >= limit {
				return nil, withRetryAfter(withMessage(ErrTooManySessions,
					"your address has %d viewing sessions open on this node, the most allowed", limit), ad.cfg.RetryAfter)
			}
		}
		if limit := ad.cfg.MaxViewersPerStream; limit > 0 && ad.streams[streamID] >= limit {
			return nil, withRetryAfter(withMessage(ErrAtCapacity,
				"this stream has %d viewers on this node, the most allowed", limit), ad.cfg.RetryAfter)
		}
	}
	if limit := ad.cfg.MaxViewers; limit > 0 && ad.viewers >= limit {
		return nil, withRetryAfter(withMessage(ErrAtCapacity,
			"this node has %d viewers, the most allowed", limit), ad.cfg.RetryAfter)
	}
	ad.viewers++
	if !relay {
		ad.streams[streamID]++
		if u != nil {
			u.sessions++
		}
	}
	return sync.OnceFunc(func() {
		ad.mu.Lock()
		defer ad.mu.Unlock()
		ad.viewers--
		if relay {
			return
		}
		if ad.streams[streamID]--; ad.streams[streamID] <= 0 {
			delete(ad.streams, streamID)
		}
		if u != nil {
			u.sessions--
		}
	}), nil
}

// prune forgets clients with no session open and a full allowance: they
// are as good as new. Called every maintenance round.
func (ad *admission) prune() {
	ad.mu.Lock()
	defer ad.mu.Unlock()
	ad.pruneLocked(ad.now())
}

func (ad *admission) pruneLocked(now time.Time) {
	for k, u := range ad.clients {
		if u.sessions == 0 && (ad.cfg.WHEPRate <= 0 || now.Sub(u.refilled) >= ad.cfg.WHEPRateWindow) {
			delete(ad.clients, k)
		}
	}
}

// withMessage is a copy of a sentinel error with a message that says
// more than the sentinel does (which limit was reached).
func withMessage(sentinel *Error, format string, args ...any) *Error {
	return &Error{Status: sentinel.Status, Code: sentinel.Code, Message: fmt.Sprintf(format, args...)}
}
