package room

import (
	"context"
	"time"
)

// Limiter counts events per key. Allow records one event under key and
// reports whether the key stays within limit events per window; when it
// does not, retryAfter says when the next event would be allowed. It is a
// generic cell-rate limiter: a burst of up to limit events, refilling at
// limit per window, so it never allows more than 2×limit in any window and
// never refuses a client that keeps to limit per window. commerce.Limiter
// has the same method, so cmd/liveshop passes room's limiter to commerce for
// login rate limits.
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)
	// Reset forgets the events recorded under key, as if there had been
	// none: a successful sign-in clears the failed attempts before it.
	Reset(ctx context.Context, key string) error
}

// Limits is the fast, shared view of who may speak in which room: rate
// limits, mutes, bans and slow mode. It holds across nodes with the Redis
// implementation. The Store stays the system of record; the hub writes both
// and reloads a shop's restrictions into Limits when a room opens, so a
// flushed Redis heals itself.
type Limits interface {
	Limiter
	// SetMute mutes accountID in shopID's rooms until until; a zero or past
	// time lifts the mute.
	SetMute(ctx context.Context, shopID, accountID int64, until time.Time) error
	// SetBan bans or unbans accountID from shopID's rooms.
	SetBan(ctx context.Context, shopID, accountID int64, banned bool) error
	// Banned reports whether accountID is banned from shopID's rooms.
	Banned(ctx context.Context, shopID, accountID int64) (bool, error)
	// SetSlowMode sets the minimum time between one account's comments in a
	// stream; 0 turns slow mode off.
	SetSlowMode(ctx context.Context, streamID int64, gap time.Duration) error
	// CheckComment reports whether accountID may comment in streamID of
	// shopID now. When it may and slow mode is on (and exemptSlow is false),
	// the account's slow-mode wait starts.
	CheckComment(ctx context.Context, shopID, streamID, accountID int64, exemptSlow bool) (Verdict, error)
}

// Verdict is the outcome of Limits.CheckComment.
type Verdict struct {
	Banned     bool
	MutedUntil time.Time
	// SlowWait is how long until slow mode lets the account comment again.
	SlowWait time.Duration
}

// Allowed reports whether the comment may go ahead.
func (v Verdict) Allowed() bool { return !v.Banned && v.MutedUntil.IsZero() && v.SlowWait == 0 }

// gcra advances a theoretical arrival time (unix µs) for one event and
// reports whether it fits, shared by both implementations' arithmetic.
func gcra(tat, now int64, limit int, window time.Duration) (newTat int64, ok bool, retry time.Duration) {
	if limit <= 0 {
		return tat, false, window
	}
	w := window.Microseconds()
	interval := w / int64(limit)
	if tat < now {
		tat = now
	}
	next := tat + interval
	if next-now > w {
		return tat, false, time.Duration(next-now-w) * time.Microsecond
	}
	return next, true, 0
}
