package room

import (
	"context"
	"sync"
	"time"
)

// MemoryLimits is the single-node Limits: maps behind a mutex, pruned as
// entries expire so memory stays bounded by active keys.
type MemoryLimits struct {
	mu     sync.Mutex
	now    func() time.Time
	tat    map[string]int64 // rate-limit key → theoretical arrival time (unix µs)
	mutes  map[[2]int64]time.Time
	bans   map[[2]int64]bool
	slow   map[int64]time.Duration
	spoke  map[[2]int64]time.Time // stream, account → slow-mode wait end
	calls  int
	pruned time.Time
}

var _ Limits = (*MemoryLimits)(nil)

// NewMemoryLimits returns empty limits.
func NewMemoryLimits() *MemoryLimits {
	return &MemoryLimits{
		now: time.Now, tat: map[string]int64{}, mutes: map[[2]int64]time.Time{},
		bans: map[[2]int64]bool{}, slow: map[int64]time.Duration{}, spoke: map[[2]int64]time.Time{},
	}
}

// Allow implements Limiter.
func (l *MemoryLimits) Allow(_ context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.prune(now)
	tat, ok, retry := gcra(l.tat[key], now.UnixMicro(), limit, window)
	if ok {
		l.tat[key] = tat
	}
	return ok, retry, nil
}

// Reset implements Limiter.
func (l *MemoryLimits) Reset(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.tat, key)
	return nil
}

// prune drops expired entries every few thousand calls or minute.
func (l *MemoryLimits) prune(now time.Time) {
	l.calls++
	if l.calls < 4096 && now.Sub(l.pruned) < time.Minute {
		return
	}
	l.calls, l.pruned = 0, now
	us := now.UnixMicro()
	for k, t := range l.tat {
		if t < us {
			delete(l.tat, k)
		}
	}
	for k, t := range l.mutes {
		if !t.After(now) {
			delete(l.mutes, k)
		}
	}
	for k, t := range l.spoke {
		if !t.After(now) {
			delete(l.spoke, k)
		}
	}
}

// SetMute implements Limits.
func (l *MemoryLimits) SetMute(_ context.Context, shopID, accountID int64, until time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.now()) {
		l.mutes[[2]int64{shopID, accountID}] = until
	} else {
		delete(l.mutes, [2]int64{shopID, accountID})
	}
	return nil
}

// SetBan implements Limits.
func (l *MemoryLimits) SetBan(_ context.Context, shopID, accountID int64, banned bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if banned {
		l.bans[[2]int64{shopID, accountID}] = true
	} else {
		delete(l.bans, [2]int64{shopID, accountID})
	}
	return nil
}

// Banned implements Limits.
func (l *MemoryLimits) Banned(_ context.Context, shopID, accountID int64) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bans[[2]int64{shopID, accountID}], nil
}

// SetSlowMode implements Limits.
func (l *MemoryLimits) SetSlowMode(_ context.Context, streamID int64, gap time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if gap > 0 {
		l.slow[streamID] = gap
	} else {
		delete(l.slow, streamID)
	}
	return nil
}

// CheckComment implements Limits.
func (l *MemoryLimits) CheckComment(_ context.Context, shopID, streamID, accountID int64, exemptSlow bool) (Verdict, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.bans[[2]int64{shopID, accountID}] {
		return Verdict{Banned: true}, nil
	}
	if until := l.mutes[[2]int64{shopID, accountID}]; until.After(now) {
		return Verdict{MutedUntil: until}, nil
	}
	if gap := l.slow[streamID]; gap > 0 && !exemptSlow {
		k := [2]int64{streamID, accountID}
		if end := l.spoke[k]; end.After(now) {
			return Verdict{SlowWait: end.Sub(now)}, nil
		}
		l.spoke[k] = now.Add(gap)
	}
	return Verdict{}, nil
}
