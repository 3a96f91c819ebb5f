package live

import (
	"context"
	"log/slog"
	"time"
)

// LiveStreams lists the streams whose records say they are live. The SFU
// uses it to find shows left live by a node that crashed: only a stream's
// origin reports its end, and a dead origin reports nothing. cmd/liveshop
// adapts commerce to it.
type LiveStreams interface {
	LiveStreamIDs(ctx context.Context) ([]int64, error)
}

// HasOrigin reports whether streamID has a publisher anywhere: on this
// node (connecting, connected or in its grace period) or, through the
// origin registry, on any node.
func (s *SFU) HasOrigin(ctx context.Context, streamID int64) (bool, error) {
	s.mu.Lock()
	st := s.streams[streamID]
	s.mu.Unlock()
	if st != nil && !st.relay {
		st.mu.Lock()
		ended := st.state == stateEnded
		st.mu.Unlock()
		if !ended {
			return true, nil
		}
	}
	_, ok, err := s.registry.Lookup(ctx, streamID)
	return ok, err
}

// orphanAfter is how long a stream recorded live may have no origin before
// the SFU reports its end: a grace period for its publisher to come back
// (to any node), plus an origin TTL for a claim to reach the registry.
func (s *SFU) orphanAfter() time.Duration { return s.cfg.PublisherGrace + s.cfg.OriginTTL }

// sweepOrphans ends the streams recorded live that have had no origin
// anywhere for orphanAfter: their origin node crashed, or this single node
// restarted while they were live. It watches the streams it found live at
// its first sweep (when the node starts) and those it has since seen with
// an origin; a record put live by other means, never carried by any node
// (tests do that), is not its business. The end goes out through Events
// like any other, so the record and the room follow; every node sweeps,
// and Events tolerates hearing an end more than once. Called from maintain
// only.
func (s *SFU) sweepOrphans(ctx context.Context) {
	ids, err := s.liveStreams.LiveStreamIDs(ctx)
	if err != nil {
		s.log.Warn("list live streams", slog.Any("error", err))
		return
	}
	first := !s.swept
	s.swept = true
	now := time.Now()
	seen := make(map[int64]bool, len(ids))
	for _, id := range ids {
		seen[id] = true
		held, err := s.HasOrigin(ctx, id)
		if err != nil {
			s.log.Warn("look up origin", "stream", id, slog.Any("error", err))
			continue // unknown: neither start nor reset the clock
		}
		if held || first {
			s.watched[id] = true
		}
		if held || !s.watched[id] {
			delete(s.orphans, id)
			continue
		}
		since, ok := s.orphans[id]
		if !ok {
			s.orphans[id] = now
			continue
		}
		if now.Sub(since) >= s.orphanAfter() {
			delete(s.orphans, id)
			delete(s.watched, id)
			s.log.Info("stream recorded live has no origin on any node; ending it", "stream", id, "since", since)
			s.emit(id, false)
		}
	}
	for id := range s.watched {
		if !seen[id] {
			delete(s.watched, id)
			delete(s.orphans, id)
		}
	}
}
