// Package live is Liveshop's video: a selective forwarding unit on pion
// WebRTC. Sellers publish with WHIP (RFC 9725) from the studio page, OBS or
// GStreamer; viewers watch with WHEP. Opus, VP8 and H.264 are forwarded
// as they arrive, never transcoded.
//
// Each publisher track is read by one goroutine that rewrites headers once
// and hands packets to every viewer's bounded queue; each viewer has its
// own writer goroutine, so a slow viewer drops its own packets (and resumes
// at the next keyframe) without delaying anyone else. New viewers start on
// a keyframe requested from the publisher with PLI, throttled so a crowd
// joining costs one keyframe. NACK retransmission and RTCP reports come
// from pion interceptors.
//
// A publisher that vanishes without DELETE keeps the stream live for a
// grace period; reconnecting within it continues the same stream for every
// viewer (sequence numbers and timestamps are rewritten to stay continuous).
// Reconnecting with another codec, or to another node (which takes the
// stream over while its origin waits), continues the show in a new run
// that viewers join again; the stream record never sees an end.
// A simulcast publisher's first layer is forwarded.
//
// Across nodes, the node holding a stream's publisher claims it in an
// OriginRegistry (memory for one node, Redis for many). Another node asked
// for the stream pulls it once from the origin, as a WHEP client, and fans
// it out to its own viewers. An origin that crashes stops refreshing its
// claim, which lapses after Config.OriginTTL and is kept, lapsed, for the
// grace period: meanwhile the stream waits for its publisher on any node
// (WHIP elsewhere is refused with a Retry-After saying when the claim
// lapses, then takes it over), and relays keep their viewers and pull
// from the new origin. When the lapsed claim is forgotten the show is
// over for everyone at once: relays end, and the nodes' periodic sweep
// reports streams recorded live that no node carries ended.
//
// WHEP is anonymous, so a node admits viewers by limits (see admission):
// per client address a rate of offers and a cap on open sessions, per
// stream and per node a cap on viewers; a session that has not connected
// within Config.ConnectTimeout is closed. Relay pulls prove themselves with
// the cluster's relay token and count only against the node's cap. Offers
// are checked before pion sees them (media, ICE credentials, a DTLS
// fingerprint of a supported hash and the right length).
//
// The package knows nothing about shops or accounts: it asks a
// StreamAuthorizer whether a key may publish (again, periodically: a key
// rotated or a stream ended cuts its publisher off) and a StreamCatalog
// whether a stream exists, and tells Events when a stream starts and ends;
// cmd/liveshop adapts commerce and room to them.
package live
