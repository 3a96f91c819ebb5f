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

// originState tells where streamID stands: held when it has a publisher on
// this node (connecting, connected or in its grace period) or a live
// origin claim on any node; lapsed when the registry keeps only a lapsed
// claim (its origin crashed, and the stream waits for its publisher).
func (s *SFU) originState(ctx context.Context, streamID int64) (held, lapsed bool, err error) {
	s.mu.Lock()
	st := s.streams[streamID]
	s.mu.Unlock()
	if st != nil && !st.relay.Load() {
		st.mu.Lock()
		ended := st.state == stateEnded
		st.mu.Unlock()
		if !ended {
			return true, false, nil
		}
	}
	o, ok, err := s.registry.Lookup(ctx, streamID)
	return ok && !o.Lapsed, ok && o.Lapsed, err
}

// orphanAfter is how long a stream recorded live may have no origin claim
// at all, never seen lapsed, before the SFU reports its end: a grace
// period for its publisher to come back (to any node), plus an origin TTL
// for a claim to reach the registry (origins claim again within a third
// of it after Redis lost their keys).
func (s *SFU) orphanAfter() time.Duration { return s.cfg.PublisherGrace + s.cfg.OriginTTL }

// sweepOrphans ends the streams recorded live that no node carries any
// more. A crashed origin leaves a claim that lapses, is kept for the grace
// period while the stream waits for its publisher (on any node), then is
// forgotten: a stream this node saw lapsed and now finds without a claim
// is ended at once, when every relay of it ends too. A stream found with
// no claim at all (this single node restarted while it was live, Redis
// lost the keys) ends after orphanAfter without one. It watches the
// streams it found live at its first sweep (when the node starts) and
// those it has since seen with a claim; a record put live by other means,
// never carried by any node (tests do that), is not its business. The end
// goes out through Events like any other, so the record and the room
// follow; every node sweeps, and Events tolerates hearing an end more than
// once. Called from maintain only.
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
		held, lapsed, err := s.originState(ctx, id)
		if err != nil {
			s.log.Warn("look up origin", "stream", id, slog.Any("error", err))
			continue // unknown: neither start nor reset the clock
		}
		if held || lapsed || first {
			s.watched[id] = true
		}
		switch {
		case held || !s.watched[id]:
			delete(s.orphans, id)
			delete(s.lapsed, id)
			continue
		case lapsed:
			s.lapsed[id] = true // its grace period runs in the registry
			delete(s.orphans, id)
			continue
		case s.lapsed[id]:
			s.log.Info("stream's origin crashed and no publisher came back within the grace period; ending it", "stream", id)
		default:
			since, ok := s.orphans[id]
			if !ok {
				s.orphans[id] = now
				continue
			}
			if now.Sub(since) < s.orphanAfter() {
				continue
			}
			s.log.Info("stream recorded live has no origin on any node; ending it", "stream", id, "since", since)
		}
		s.forgetOrphan(id)
		s.emit(id, false)
	}
	for id := range s.watched {
		if !seen[id] {
			s.forgetOrphan(id)
		}
	}
}

// forgetOrphan drops what sweepOrphans knows of id.
func (s *SFU) forgetOrphan(id int64) {
	delete(s.watched, id)
	delete(s.orphans, id)
	delete(s.lapsed, id)
}
