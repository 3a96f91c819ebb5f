package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Origin is the node a stream's publisher is connected to, as other nodes
// reach it.
type Origin struct {
	NodeID string
	// URL is the origin node's HTTP base URL (Config.AdvertiseURL); other
	// nodes pull the stream from URL + "/api/streams/{id}/whep".
	URL string
	// Grace means the origin's publisher has dropped and the origin waits
	// for it (Config.PublisherGrace): another node the publisher reconnects
	// to may take the claim over, and the origin then steps aside.
	Grace bool
	// Lapsed (set by Lookup only) means the origin node has not refreshed
	// its claim for a TTL: it crashed, or lost the registry. The stream
	// then waits for its publisher on any node, for the grace period given
	// with the claim: any node may take the claim over, relays keep their
	// viewers, and nobody pulls from the silent node.
	Lapsed bool
}

// OriginRegistry records which node is each live stream's origin, so any
// node can serve viewers by pulling from it. Claims lapse unless their
// node refreshes them, which is how a crashed node's streams are found;
// a lapsed claim is kept for the stream's grace period, so every node
// agrees on when a stream without its origin is over. The memory
// implementation serves one node (or several in one process, in tests);
// the Redis one serves a cluster.
type OriginRegistry interface {
	// Claim makes origin the stream's origin, or extends its claim (with
	// origin.Grace as given). A claim not refreshed within ttl lapses, and
	// is forgotten grace later. Claim fails with ErrOriginTaken while
	// another node's claim is alive (not lapsed) and not in its grace
	// period; the error's RetryAfterSeconds says when that claim lapses
	// unless its node refreshes it.
	Claim(ctx context.Context, streamID int64, origin Origin, ttl, grace time.Duration) error
	// Release drops the claim if nodeID holds it; otherwise it does nothing.
	Release(ctx context.Context, streamID int64, nodeID string) error
	// Lookup returns the stream's origin (Lapsed when its claim has
	// lapsed), ok=false when no claim is kept.
	Lookup(ctx context.Context, streamID int64) (o Origin, ok bool, err error)
	// RelayToken returns the secret every node sharing the registry reads
	// alike, created by the first to ask. Relay pulls carry it so an origin
	// can tell another node, which passes the per-client WHEP limits, from
	// a viewer claiming to be one.
	RelayToken(ctx context.Context) (string, error)
}

// errOriginTaken is ErrOriginTaken for a claim that lapses in left unless
// refreshed: a publisher may try again then (Retry-After).
func errOriginTaken(left time.Duration) error { return withRetryAfter(ErrOriginTaken, left) }

// newRelayToken is a fresh random relay token.
func newRelayToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
