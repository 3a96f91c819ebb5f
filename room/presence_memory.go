package room

import (
	"context"
	"sync"
	"time"
)

// MemoryPresence is the single-process Presence (shared by hubs in one
// process, as tests do).
type MemoryPresence struct {
	mu    sync.Mutex
	now   func() time.Time
	rooms map[int64]map[string]presenceReport
}

type presenceReport struct {
	count   int
	expires time.Time
}

var _ Presence = (*MemoryPresence)(nil)

// NewMemoryPresence returns an empty MemoryPresence.
func NewMemoryPresence() *MemoryPresence {
	return &MemoryPresence{now: time.Now, rooms: map[int64]map[string]presenceReport{}}
}

// Report implements Presence.
func (p *MemoryPresence) Report(_ context.Context, room int64, node string, count int, ttl time.Duration) (int, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	reports := p.rooms[room]
	if reports == nil {
		reports = map[string]presenceReport{}
		p.rooms[room] = reports
	}
	reports[node] = presenceReport{count, now.Add(ttl)}
	total, leader := 0, ""
	for n, r := range reports {
		if r.expires.Before(now) {
			delete(reports, n)
			continue
		}
		total += r.count
		if leader == "" || n < leader {
			leader = n
		}
	}
	return total, leader == node, nil
}

// Leave implements Presence.
func (p *MemoryPresence) Leave(_ context.Context, room int64, node string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.rooms[room], node)
	if len(p.rooms[room]) == 0 {
		delete(p.rooms, room)
	}
	return nil
}
