package discovery

import (
	"context"
	"fmt"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// Retention of the interaction log
//
// The interaction log grows with every view, click and watch session, so
// it is kept for Config.InteractionRetention (default 180 days).
// Before a UTC day leaves the log it is rolled up into one row per day,
// shop, stream, product and kind (interaction_days), and reports read the
// days before the rollup's watermark from there, the later ones from the
// log; orders and revenue come from the orders tables and are never
// purged. What a rolled-up day keeps, and what it loses:
//
//   - Counts of events, units, likes, comments and so on: exact.
//   - Viewers: distinct per day and per row (stream, product, kind), so over
//     a range a viewer who came back on another rolled-up day, or viewed
//     two products, counts once more each time.
//   - Watch time: each session whole, on the day it ended (the log clips
//     sessions to the report's range and to the stream's live time).
//   - Peak viewers of a stream: the most sessions open at once among those
//     that ended on one day.
//
// Open watch sessions whose node died (see interaction_watch.go) are not
// rolled up: they go when their last heartbeat is older than the
// retention. The purge also forgets viewers' recent items older than the
// retention
// (the "also bought" seeds only look 30 days back), and co-occurrence and
// hashtag affinity rows that have decayed below what one event as old as
// the retention would weigh now.

// WatchRollup is the watch time of rolled-up days.
type WatchRollup struct {
	Key         int64
	Viewers     int64
	Peak        int64
	WatchMicros int64
}

// RetentionStore rolls up and purges the interaction log.
type RetentionStore interface {
	// RolledWatch returns the watch rows of rolled-up days matching f (by
	// ShopID, StreamID(s), From and To: a day counts when it starts in the
	// range), grouped by GroupNone, GroupDay or GroupStream.
	RolledWatch(ctx context.Context, f AnalyticsFilter, group int) ([]WatchRollup, error)
	// RolledUntil returns the rollup watermark (zero before the first
	// rollup) and the time of the first interaction at or after it (ok
	// false when there is none).
	RolledUntil(ctx context.Context) (until, first time.Time, ok bool, err error)
	// RollUpDay rolls up the UTC day starting at day, with each stream's
	// peak viewers that day, and moves the watermark from until to the
	// day's end, in one transaction; false (and nothing written) when the
	// watermark is no longer until (another node did it).
	RollUpDay(ctx context.Context, until, day time.Time, peaks map[int64]int64) (bool, error)
	// PurgeInteractions deletes at most limit interactions before before;
	// PurgeOpenWatches the same of open watch sessions last seen before
	// it (their node died); PurgeRecentItems of viewers' recent items.
	PurgeInteractions(ctx context.Context, before time.Time, limit int) (int, error)
	PurgeOpenWatches(ctx context.Context, before time.Time, limit int) (int, error)
	PurgeRecentItems(ctx context.Context, before time.Time, limit int) (int, error)
	// PurgeFadedScores deletes at most limit co-occurrence rows with a
	// heat below pairs and affinity rows below affinity.
	PurgeFadedScores(ctx context.Context, pairs, affinity float64, limit int) (int, error)
}

// rollupDaysPerSweep bounds the days one purge rolls up; a backlog (the
// first purge of an old log) is worked off over the next sweeps.
const rollupDaysPerSweep = 31

// PurgeStats says what one purge did.
type PurgeStats struct {
	DaysRolledUp, Interactions, OpenWatches, RecentItems, Scores int
}

// PurgeInteractions rolls up the days older than InteractionRetention and
// deletes them from the log, with the recent items and the decayed scores
// that go with them. Several nodes may run it at once: each day is rolled
// up by one of them, and deleting twice deletes nothing the second time.
func (d *Service) PurgeInteractions(ctx context.Context) (PurgeStats, error) {
	var st PurgeStats
	now := d.now()
	cutoff := now.Add(-d.cfg.InteractionRetention).UTC().Truncate(24 * time.Hour)
	for range rollupDaysPerSweep {
		until, first, ok, err := d.store.RolledUntil(ctx)
		if err != nil {
			return st, fmt.Errorf("rollup watermark: %w", err)
		}
		day := first.UTC().Truncate(24 * time.Hour)
		if !ok || day.Add(24*time.Hour).After(cutoff) {
			break
		}
		sessions, err := d.store.WatchSessions(ctx, AnalyticsFilter{From: day, To: day.Add(24 * time.Hour)})
		if err != nil {
			return st, err
		}
		byStream := map[int64][]WatchSession{}
		for _, s := range sessions {
			byStream[s.StreamID] = append(byStream[s.StreamID], s)
		}
		peaks := make(map[int64]int64, len(byStream))
		for id, ss := range byStream {
			peaks[id] = audience(ss, time.Time{}, time.Time{}, WatchRollup{}).PeakViewers
		}
		done, err := d.store.RollUpDay(ctx, until, day, peaks)
		if err != nil {
			return st, fmt.Errorf("roll up %s: %w", day.Format(reportDateLayout), err)
		}
		if done {
			st.DaysRolledUp++
		}
	}
	until, _, _, err := d.store.RolledUntil(ctx)
	if err != nil {
		return st, err
	}
	steps := []struct {
		n    *int
		name string
		run  func(limit int) (int, error)
	}{
		{&st.Interactions, "interactions", func(limit int) (int, error) {
			return d.store.PurgeInteractions(ctx, minTime(until, cutoff), limit)
		}},
		{&st.OpenWatches, "open watch sessions", func(limit int) (int, error) {
			return d.store.PurgeOpenWatches(ctx, minTime(until, cutoff), limit)
		}},
		{&st.RecentItems, "recent items", func(limit int) (int, error) { return d.store.PurgeRecentItems(ctx, cutoff, limit) }},
		{&st.Scores, "faded scores", func(limit int) (int, error) {
			return d.store.PurgeFadedScores(ctx, heatClock(cutoff, d.cfg.PairHalfLife),
				heatClock(cutoff, d.cfg.AffinityHalfLife), limit)
		}},
	}
	for _, s := range steps {
		var err error
		if *s.n, err = commerce.PurgeInBatches(s.run); err != nil {
			return st, fmt.Errorf("purge %s: %w", s.name, err)
		}
	}
	return st, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// RunRetention calls PurgeInteractions every interval until ctx ends.
// cmd/liveshop runs it on every node.
func (d *Service) RunRetention(ctx context.Context, every time.Duration) {
	commerce.Every(ctx, every, func() {
		st, err := d.PurgeInteractions(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("interaction purge failed", "error", err)
		}
		if st != (PurgeStats{}) {
			d.log.Info("purged old interactions", "days_rolled_up", st.DaysRolledUp, "interactions", st.Interactions, "open_watches", st.OpenWatches,
				"recent_items", st.RecentItems, "scores", st.Scores, "retention", d.cfg.InteractionRetention)
		}
	})
}
