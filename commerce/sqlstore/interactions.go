package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/liveshop/liveshop/commerce/discovery"
)

var _ discovery.Store = (*DB)(nil)

// inChunk is the most values bound in one IN list or multi-row insert
// chunk, well under both databases' parameter limits.
const inChunk = 500

// eachChunk calls fn with successive slices of at most n items.
func eachChunk[T any](items []T, n int, fn func([]T) error) error {
	for start := 0; start < len(items); start += n {
		if err := fn(items[start:min(len(items), start+n)]); err != nil {
			return err
		}
	}
	return nil
}

// logAddSQL is the SQL for ln(e^a + e^b) (see commerce.logAdd).
func (c conn) logAddSQL(a, b string) string {
	mx := "max"
	if c.dialect == Postgres {
		mx = "GREATEST"
	}
	return fmt.Sprintf("CASE WHEN abs(%[1]s - %[2]s) > 40 THEN %[3]s(%[1]s, %[2]s) "+
		"ELSE %[3]s(%[1]s, %[2]s) + ln(1 + exp(-abs(%[1]s - %[2]s))) END", a, b, mx)
}

// maxSQL is the larger of two values.
func (c conn) maxSQL(a, b string) string {
	if c.dialect == Postgres {
		return "GREATEST(" + a + ", " + b + ")"
	}
	return "max(" + a + ", " + b + ")"
}

// upsertRows inserts rows of width columns in chunks, each statement
// ending with conflict (an ON CONFLICT clause).
func (c conn) upsertRows(ctx context.Context, head string, width int, rows [][]any, conflict string) error {
	per := max(1, inChunk/width)
	return eachChunk(rows, per, func(chunk [][]any) error {
		var b strings.Builder
		b.WriteString(head)
		b.WriteString(" VALUES ")
		args := make([]any, 0, len(chunk)*width)
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + placeholders(width) + ")")
			args = append(args, r...)
		}
		b.WriteString(" ")
		b.WriteString(conflict)
		_, err := c.exec(ctx, b.String(), args...)
		return err
	})
}

func microsOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

func timeOrZero(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return fromMicros(us)
}

// SaveInteractions implements commerce.InteractionStore. Rows are written
// in key order (the commerce batch is sorted), so concurrent batches from
// several nodes lock rows in the same order and never deadlock.
func (db *DB) SaveInteractions(ctx context.Context, b discovery.InteractionBatch) error {
	return db.inTx(ctx, func(tx conn) error {
		rows := make([][]any, len(b.Events))
		for i, ev := range b.Events {
			rows[i] = []any{micros(ev.At), string(ev.Kind), ev.AccountID, ev.ShopID, ev.StreamID, ev.ProductID,
				ev.OrderID, ev.Quantity, ev.AmountMinor, microsOrZero(ev.StartedAt), ev.Source}
		}
		if err := tx.upsertRows(ctx, `INSERT INTO interactions (at, kind, account_id, shop_id, stream_id, product_id,
			order_id, quantity, amount_minor, started_at, source)`, 11, rows, ""); err != nil {
			return fmt.Errorf("insert interactions: %w", err)
		}
		if err := tx.saveOrderStreams(ctx, b.Events); err != nil {
			return fmt.Errorf("order streams: %w", err)
		}
		if err := tx.closeWatches(ctx, b.Events); err != nil {
			return fmt.Errorf("open watch sessions: %w", err)
		}

		rows = rows[:0]
		byKind := map[int][]any{}
		for _, it := range b.Items {
			rows = append(rows, []any{it.Item.Kind, it.Item.ID, it.ShopID, it.Heat})
			byKind[it.Item.Kind] = append(byKind[it.Item.Kind], it.Item.ID)
		}
		if err := tx.upsertRows(ctx, "INSERT INTO discovery_items (kind, item_id, shop_id, heat)", 4, rows,
			"ON CONFLICT (kind, item_id) DO UPDATE SET shop_id = excluded.shop_id, heat = "+
				tx.logAddSQL("discovery_items.heat", "excluded.heat")); err != nil {
			return fmt.Errorf("item heat: %w", err)
		}
		for kind, ids := range byKind {
			err := eachChunk(ids, inChunk, func(ids []any) error {
				_, err := tx.exec(ctx, `UPDATE discovery_item_tags SET heat = (SELECT d.heat FROM discovery_items d
					WHERE d.kind = discovery_item_tags.kind AND d.item_id = discovery_item_tags.item_id)
					WHERE kind = ? AND item_id IN (`+placeholders(len(ids))+`)`, append([]any{kind}, ids...)...)
				return err
			})
			if err != nil {
				return fmt.Errorf("hashtag item heat: %w", err)
			}
		}

		rows = rows[:0]
		for _, t := range b.Tags {
			rows = append(rows, []any{t.Tag, t.Heat})
		}
		if err := tx.upsertRows(ctx, "INSERT INTO discovery_tags (tag, heat)", 2, rows,
			"ON CONFLICT (tag) DO UPDATE SET heat = "+tx.logAddSQL("discovery_tags.heat", "excluded.heat")); err != nil {
			return fmt.Errorf("hashtag heat: %w", err)
		}

		rows = rows[:0]
		for _, t := range b.Affinity {
			rows = append(rows, []any{t.AccountID, t.Tag, t.Heat})
		}
		if err := tx.upsertRows(ctx, "INSERT INTO discovery_affinity (account_id, tag, heat)", 3, rows,
			"ON CONFLICT (account_id, tag) DO UPDATE SET heat = "+tx.logAddSQL("discovery_affinity.heat", "excluded.heat")); err != nil {
			return fmt.Errorf("affinity: %w", err)
		}

		rows = rows[:0]
		for i, r := range b.Recent {
			rows = append(rows, []any{b.RecentOwners[i], r.Item.Kind, r.Item.ID, r.Strength, micros(r.At), microsOrZero(r.BoughtAt)})
		}
		if err := tx.upsertRows(ctx, "INSERT INTO discovery_recent (account_id, kind, item_id, strength, at, bought_at)", 6, rows,
			"ON CONFLICT (account_id, kind, item_id) DO UPDATE SET "+
				"strength = "+tx.maxSQL("discovery_recent.strength", "excluded.strength")+", "+
				"at = "+tx.maxSQL("discovery_recent.at", "excluded.at")+", "+
				"bought_at = "+tx.maxSQL("discovery_recent.bought_at", "excluded.bought_at")); err != nil {
			return fmt.Errorf("recent items: %w", err)
		}

		rows = rows[:0]
		for _, p := range b.Pairs {
			rows = append(rows, []any{p.A.Kind, p.A.ID, p.B.Kind, p.B.ID, p.Heat})
		}
		if err := tx.upsertRows(ctx, "INSERT INTO discovery_pairs (a_kind, a_id, b_kind, b_id, heat)", 5, rows,
			"ON CONFLICT (a_kind, a_id, b_kind, b_id) DO UPDATE SET heat = "+
				tx.logAddSQL("discovery_pairs.heat", "excluded.heat")); err != nil {
			return fmt.Errorf("pairs: %w", err)
		}
		return nil
	})
}

// saveOrderStreams keeps the stream each purchase was credited to, the
// first credit of an order winning.
func (c conn) saveOrderStreams(ctx context.Context, evs []discovery.Interaction) error {
	seen := map[int64]bool{}
	var rows [][]any
	for _, ev := range evs {
		if ev.Kind == discovery.InteractionPurchase && ev.OrderID != 0 && ev.StreamID != 0 && !seen[ev.OrderID] {
			seen[ev.OrderID] = true
			rows = append(rows, []any{ev.OrderID, ev.StreamID})
		}
	}
	return c.upsertRows(ctx, "INSERT INTO order_streams (order_id, stream_id)", 2, rows,
		"ON CONFLICT (order_id) DO NOTHING")
}

// closeWatches deletes the open-session rows of the sessions logged.
func (c conn) closeWatches(ctx context.Context, evs []discovery.Interaction) error {
	var ids []any
	for _, ev := range evs {
		if ev.Kind == discovery.InteractionWatch && ev.Session != "" {
			ids = append(ids, ev.Session)
		}
	}
	return eachChunk(ids, inChunk, func(ids []any) error {
		_, err := c.exec(ctx, "DELETE FROM watch_open WHERE session IN ("+placeholders(len(ids))+")", ids...)
		return err
	})
}

// BeatWatches implements commerce.InteractionStore.
func (db *DB) BeatWatches(ctx context.Context, open []discovery.OpenWatch, at time.Time) error {
	rows := make([][]any, len(open))
	for i, o := range open {
		rows[i] = []any{o.Session, o.StreamID, o.AccountID, micros(o.StartedAt), micros(at)}
	}
	return db.inTx(ctx, func(tx conn) error {
		return tx.upsertRows(ctx, "INSERT INTO watch_open (session, stream_id, account_id, started_at, seen_at)", 5, rows,
			"ON CONFLICT (session) DO UPDATE SET seen_at = excluded.seen_at")
	})
}

func toAny(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// ItemFacts implements commerce.InteractionStore.
func (db *DB) ItemFacts(ctx context.Context, products, streams []int64) (map[int64]discovery.ItemFacts, map[int64]discovery.ItemFacts, error) {
	load := func(table string, ids []int64) (map[int64]discovery.ItemFacts, error) {
		out := make(map[int64]discovery.ItemFacts, len(ids))
		err := eachChunk(toAny(ids), inChunk, func(ids []any) error {
			rows, err := db.query(ctx, "SELECT id, shop_id, hashtags, status FROM "+table+
				" WHERE id IN ("+placeholders(len(ids))+")", ids...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				var f discovery.ItemFacts
				var tags string
				if err := rows.Scan(&id, &f.ShopID, &tags, &f.Status); err != nil {
					return err
				}
				f.Tags = splitTags(tags)
				out[id] = f
			}
			return rows.Err()
		})
		return out, err
	}
	pf, err := load("products", products)
	if err != nil {
		return nil, nil, err
	}
	sf, err := load("streams", streams)
	return pf, sf, err
}

// RecentItems implements commerce.InteractionStore.
func (db *DB) RecentItems(ctx context.Context, accountIDs []int64, since time.Time, limit int) (map[int64][]discovery.RecentItem, error) {
	out := make(map[int64][]discovery.RecentItem, len(accountIDs))
	for _, acct := range accountIDs {
		rows, err := db.query(ctx, `SELECT kind, item_id, strength, at, bought_at FROM discovery_recent
			WHERE account_id = ? AND at >= ? ORDER BY at DESC LIMIT ?`, acct, micros(since), limit)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var r discovery.RecentItem
			var at, bought int64
			if err := rows.Scan(&r.Item.Kind, &r.Item.ID, &r.Strength, &at, &bought); err != nil {
				rows.Close()
				return nil, err
			}
			r.At, r.BoughtAt = fromMicros(at), timeOrZero(bought)
			out[acct] = append(out[acct], r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LastStreamTouch implements commerce.InteractionStore.
func (db *DB) LastStreamTouch(ctx context.Context, accountID, shopID int64, since, until time.Time) (int64, error) {
	rows, err := db.query(ctx, `SELECT stream_id FROM interactions
		WHERE account_id = ? AND account_id <> 0 AND at >= ? AND at <= ? AND shop_id = ? AND stream_id <> 0
		AND kind IN ('watch_start', 'watch', 'click') ORDER BY at DESC LIMIT 1`,
		accountID, micros(since), micros(until), shopID)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var id int64
	if rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return 0, err
		}
	}
	return id, rows.Err()
}
