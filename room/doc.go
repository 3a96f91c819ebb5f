// Package room runs the live rooms of streams: one WebSocket per viewer per
// stream carrying comments, pinned products, likes, viewer counts, flash-sale
// stock and moderation in real time, fanned out across nodes through a Bus
// (in memory for one node, Redis pub/sub plus a capped stream per room for
// many).
//
// # Wiring
//
// cmd/liveshop builds a Hub with NewHub(Config, Deps): Deps.Auth (who is
// this request), Deps.Directory (streams, roles, product cards) and
// Deps.Store (comments and moderation, SQL in production) are adapters over
// commerce; Bus, Limits and Presence are the memory or Redis
// implementations, picked once at start-up. NewHandler(hub).Register(g) adds
// the routes to the /api group; OpenAPI documents them. Other packages tell
// rooms what happened through Hub.Publish (stream started/ended, flash-sale
// events, the "just bought" ticker). Hub.Limiter is a cross-node rate
// limiter commerce uses for logins.
//
// # Protocol
//
// A client opens GET /api/streams/{id}/room as a WebSocket; anonymous
// viewers may watch, commenting and liking need an account (the session
// cookie or bearer token is sent with the upgrade request). An account or
// client address that opens sockets faster than Config.JoinLimitAccount or
// JoinLimitIP per JoinWindow (on every node together), or holds
// Config.SocketsPerAccount or SocketsPerIP open on the node, is refused
// before the upgrade with 429 (rate_limited or too_many_sockets) and
// Retry-After. Pages from
// other origins than the server's own (Config.PublicURL's scheme with its
// host or the request's) and Config.AllowedOrigins are refused with 403
// cross_origin before the upgrade.
//
// Server → client. Every frame is a JSON array of one or more events
//
//	[{"type":"comment","seq":42,"data":{...}}, ...]
//
// seq is the room's sequence number: it grows by one per room event across
// all nodes. A client may see gaps (events addressed to others are not sent
// to it) but never a smaller seq than one it saw, except on replies, which
// repeat the last seq the connection was sent, and after an unasked
// snapshot: if Redis lost the room's keys (a restart without persistence, a
// FLUSHALL) seq starts again from 1, and every connection gets a fresh
// snapshot whose seq replaces the one kept (see Redis data loss below for
// the comments that come with it). Each numbering has an epoch, an
// opaque string the snapshot (and resumed) carries: a room whose numbering
// starts again gets another one. Keep the epoch of the last snapshot and the
// largest seq seen since, to resume. Under load, events that accumulated for a
// connection arrive together in one frame.
//
// Events (data fields in parentheses):
//
//	snapshot            the state to start from: first event after joining
//	                    (and again, unasked, if the bus lost events beyond
//	                    its history, or Redis lost the room's keys, so the
//	                    room had to rebuild its state):
//	                    stream (id, shop_id, title, status: scheduled|live|ended),
//	                    pinned (product card or null: id, title, price_minor,
//	                    currency, image_url, stock), flash_sale (FlashSale or
//	                    null), comments (last 50 visible, oldest first),
//	                    viewers, likes, slow_mode (seconds), me (id, name,
//	                    role: viewer|moderator|seller|admin, muted_until,
//	                    banned), epoch (of the numbering seq counts in).
//	                    An unasked snapshot may carry continues: true —
//	                    keep the comments shown (comments is empty); a
//	                    missed event follows — or gap: true — more comments
//	                    were missed than a resync sends (1,000): comments
//	                    is the latest page, start from it again.
//	missed              after a snapshot that continues, in the same frame:
//	                    comments (the ones this connection was not shown,
//	                    oldest first; held ones, status "held", only to
//	                    their author and moderators) and removed (IDs of
//	                    comments removed meanwhile: take them away)
//	resumed             start of a resume (after, missed, me, epoch); the
//	                    missed events follow in the same frame, in order
//	comment             a visible comment (id, user{id,name}, text, at); its
//	                    author's ack carries it with cid and status too.
//	                    text is plain text: render it as text, never as HTML.
//	                    A held comment that a moderator approves arrives again
//	                    as comment; clients key comments by id.
//	comment_held        a comment held for review because of a blocked word
//	                    (id, cid, user, text, status "held", at); sent only
//	                    to its author and to moderators
//	comment_removed     (id) remove it from the screen
//	pinned              (product) / unpinned
//	likes               (count in this window, total) at most once per
//	                    Config.LikeInterval per node
//	viewers             (count) across all nodes, every few seconds when it changes
//	slow_mode           (seconds) 0 means off
//	stream_started, stream_ended  once per show each (not when its
//	                    publisher moves to another node)
//	flash_sale_started  FlashSale: id, product_id, title, image_url,
//	                    price_minor, currency, quantity, remaining,
//	                    per_buyer_limit, starts_at, ends_at
//	flash_sale_stock    (id, remaining, sold_out) coalesced by the publisher
//	flash_sale_ended    (id, reason: sold_out|stopped|expired|stream_ended, remaining)
//	purchase            "just bought" ticker (buyer, product_id, product_title, quantity)
//	muted               (user_id, until) to the muted user only, in every
//	                    live or scheduled stream of the shop, on every node
//	banned              (user_id) to the banned user only, likewise in every
//	                    stream of the shop; the server then closes the
//	                    connection with 4003. A banned account's comment or
//	                    like is refused with the error banned and closes the
//	                    connection with 4003 too.
//	ack                 (id, comment) a command succeeded; comment for comments
//	error               (id, code, message, retry_after) a command or message
//	                    was refused; the connection stays open
//	pong                (id) answer to ping
//
// Client → server. Each message is one JSON object with a type and an
// optional id (≤ 64 bytes) that the ack or error echoes:
//
//	{"type":"comment","id":"1","cid":"c-7f3a","text":"hello"}
//	                    cid (≤ 64 bytes) is chosen by the client; resending
//	                    with the same cid after a reconnect or an error does
//	                    not store or show the comment twice, and shows it if
//	                    the first try failed after storing it
//	{"type":"like","count":3}                 1-50 taps, summed per window
//	{"type":"ping","id":"p"}
//	moderators, seller and admins:
//	{"type":"remove_comment","comment_id":9}  retrying is safe: a removed
//	                    comment's removal is acked and sent again, and
//	                    rooms take it once
//	{"type":"approve_comment","comment_id":9} / reject_comment
//	{"type":"mute","user_id":5,"minutes":10} / {"type":"unmute","user_id":5}
//	{"type":"ban","user_id":5}               / {"type":"unban","user_id":5}
//	{"type":"slow_mode","seconds":30}
//	seller and admins:
//	{"type":"pin","product_id":3} / {"type":"unpin"}
//
// Blocked words, the held-for-review queue, the list of mutes and bans and
// the audit log are also on the HTTP API (see openapi.json).
//
// Error codes: bad_request (malformed JSON, binary message), unknown_command,
// invalid, unauthenticated, forbidden (the attempt is audited), banned,
// muted, slow_mode, rate_limited (per connection: Config.CommandRate; for
// comments per account, Config.CommentLimit per CommentWindow, and per
// client address whatever the account, Config.CommentIPLimit per
// CommentWindow, moderators exempt, both on all nodes together; with
// retry_after in seconds), stream_ended, product_not_active (a pin of a
// draft or archived product), not_found, unavailable, internal.
//
// Resume: reconnect with ?since=SEQ&epoch=E (the largest seq seen and the
// epoch of the last snapshot). The server answers with resumed followed by
// exactly the room events after SEQ that this client may see, in order,
// without duplicates, and leaves out comments removed since; when SEQ is
// older than the retained history (Config.HistorySize events, in memory
// and in the bus), or E is not the room's epoch (its numbering started
// again while the client was away: Redis lost the room's keys, or the
// server restarted with the memory bus, whose numbering lives as long as
// the process), or the node cannot vouch for its numbering at the moment
// (its link to Redis is down, or the room is resyncing after Redis came
// back), it sends a fresh snapshot instead. Without epoch, since is taken
// to be of the current numbering (as before epochs existed). An epoch
// longer than 64 bytes is refused with 400.
//
// Redis data loss: with the Redis bus, each room's counter carries the
// epoch (a random tag set when the counter is created), and every event on
// pub/sub names its epoch. A node notices at once that its pub/sub link
// broke, and within about a second of Redis coming back (or of a FLUSHALL)
// that a room's counter is gone, went backwards or has another epoch; an
// event of another epoch makes it check at once. The room then reloads its
// state from SQL, writes the shop's mutes and bans and the stream's slow
// mode back into the Redis limits (retrying with backoff, up to 5 s apart,
// until SQL and Redis answer), and sends every connection that stayed a
// snapshot in the new epoch that continues its view, followed by a missed
// event: every comment stored in SQL that the connection was not shown
// (comments stored while the numbering was lost, or whose event the node
// never received), and the removals it did not hear of. Connections that
// joined during the resync, and every connection when more than 1,000
// comments were missed, get a plain snapshot instead (gap: true in the
// latter case). Until the resync is done (about a second after Redis is
// back; longer while SQL or Redis refuse), events wait, resumes get a
// snapshot, and a muted viewer's comment may pass. What Redis alone holds
// starts again empty: comment rate-limit windows, the time of each
// account's last comment for slow mode, and viewer counts (until each node
// reports again, within Config.ViewerInterval).
//
// Close codes: 1001 server shutting down; 1009 message bigger than
// Config.ReadLimit; 4003 banned; 4008 slow consumer (the connection's
// outbound queue of Config.QueueSize frames overflowed, or a write was stuck
// for Config.WriteTimeout): reconnect and resume.
//
// # Fan-out
//
// Each event is decoded and encoded once per node. A room collects events
// for at most Config.FlushInterval (a quiet room sends at once) and queues
// one shared pre-encoded frame to every connection; only connections that
// must see something else (a private event, the tail of a resume) get a
// frame of their own. A fixed pool of writer goroutines drains connection
// queues, merging whatever accumulated into one frame; each connection
// costs only its reader goroutine. A connection that cannot keep up is
// dropped, never slowing the room.
package room
