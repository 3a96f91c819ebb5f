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
}

// OriginRegistry records which node is each live stream's origin, so any
// node can serve viewers by pulling from it. Entries expire unless their
// node refreshes them, which is how a crashed node's streams disappear.
// The memory implementation serves one node (or several in one process, in
// tests); the Redis one serves a cluster.
type OriginRegistry interface {
	// Claim makes origin the stream's origin for ttl, or extends its claim
	// (with origin.Grace as given). It fails with ErrOriginTaken while
	// another node's claim is alive and not in its grace period.
	Claim(ctx context.Context, streamID int64, origin Origin, ttl time.Duration) error
	// Release drops the claim if nodeID holds it; otherwise it does nothing.
	Release(ctx context.Context, streamID int64, nodeID string) error
	// Lookup returns the stream's origin, ok=false when no live claim exists.
	Lookup(ctx context.Context, streamID int64) (o Origin, ok bool, err error)
	// RelayToken returns the secret every node sharing the registry reads
	// alike, created by the first to ask. Relay pulls carry it so an origin
	// can tell another node, which passes the per-client WHEP limits, from
	// a viewer claiming to be one.
	RelayToken(ctx context.Context) (string, error)
}

// newRelayToken is a fresh random relay token.
func newRelayToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
