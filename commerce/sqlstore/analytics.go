package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/discovery"
)

// rawRows keeps the rows of interactions not rolled up yet (see
// commerce's analytics_retention.go).
const rawRows = "at >= (SELECT rolled_until FROM interaction_rollup WHERE id = 1)"

// analyticsWhere renders f as a WHERE clause over interactions, written so
// the partial indexes of migration 0050 apply, or (rolled) over
// interaction_days, where a day counts when it starts in [From, To).
func analyticsWhere(f discovery.AnalyticsFilter, rolled bool) (string, []any) {
	var w conds
	if !rolled {
		w.add(rawRows)
	}
	w.streams(f, " AND stream_id <> 0")
	w.addIf(f.ShopID != 0, "shop_id = ?", f.ShopID)
	w.addIf(f.ProductID != 0, "product_id = ?", f.ProductID)
	col, from, to := "at", micros(f.From), micros(f.To)
	if rolled {
		col, from, to = "day", ceilDay(from), ceilDay(to)
	}
	w.addIf(!f.From.IsZero(), col+" >= ?", from)
	w.addIf(!f.To.IsZero(), col+" < ?", to)
	if len(f.Kinds) > 0 {
		kinds := make([]any, len(f.Kinds))
		for i, k := range f.Kinds {
			kinds[i] = string(k)
		}
		w.add("kind IN ("+placeholders(len(kinds))+")", kinds...)
	}
	return w.sql()
}

// openWatchWhere renders f as a WHERE clause over watch_open.
func openWatchWhere(f discovery.AnalyticsFilter) (string, []any) {
	var w conds
	w.add("seen_at >= (SELECT rolled_until FROM interaction_rollup WHERE id = 1)")
	w.streams(f, "")
	w.addIf(f.ShopID != 0, "stream_id IN (SELECT id FROM streams WHERE shop_id = ?)", f.ShopID)
	w.addIf(!f.From.IsZero(), "seen_at >= ?", micros(f.From))
	w.addIf(!f.To.IsZero(), "seen_at < ?", micros(f.To))
	return w.sql()
}

// conds collects the conditions of a WHERE clause with their arguments.
type conds struct {
	where []string
	args  []any
}

func (w *conds) add(cond string, args ...any) {
	w.where = append(w.where, cond)
	w.args = append(w.args, args...)
}

func (w *conds) addIf(ok bool, cond string, args ...any) {
	if ok {
		w.add(cond, args...)
	}
}

// streams adds f's stream (or streams), each condition followed by also.
func (w *conds) streams(f discovery.AnalyticsFilter, also string) {
	w.addIf(f.StreamID != 0, "stream_id = ?"+also, f.StreamID)
	w.addIf(len(f.StreamIDs) > 0, "stream_id IN ("+placeholders(len(f.StreamIDs))+")"+also, toAny(f.StreamIDs)...)
}

// sql is the WHERE clause (empty without conditions) and its arguments.
func (w conds) sql() (string, []any) {
	if len(w.where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(w.where, " AND "), w.args
}

const dayMicros = 86400000000

// ceilDay is the first day (since 1970-01-01 UTC) starting at or after us.
func ceilDay(us int64) int64 {
	d := us / dayMicros
	if d*dayMicros < us {
		d++
	}
	return d
}

// ActivityCounts implements commerce.AnalyticsStore: the log's rows not
// rolled up yet and the rollups of the days before them, summed.
func (db *DB) ActivityCounts(ctx context.Context, f discovery.AnalyticsFilter, group int, byKind bool) ([]discovery.ActivityCount, error) {
	var q string
	var args []any
	for _, rolled := range []bool{false, true} {
		key := "0"
		switch group {
		case discovery.GroupDay:
			key = "at / 86400000000"
			if rolled {
				key = "day"
			}
		case discovery.GroupProduct:
			key = "product_id"
		case discovery.GroupStream:
			key = "stream_id"
		}
		kind := "''"
		var groupBy []string
		if group != discovery.GroupNone {
			groupBy = append(groupBy, key)
		}
		if byKind {
			kind = "kind"
			groupBy = append(groupBy, "kind")
		}
		where, wargs := analyticsWhere(f, rolled)
		args = append(args, wargs...)
		if rolled {
			q += " UNION ALL SELECT CAST(" + key + " AS BIGINT) AS k, " + kind + ` AS kind, SUM(events) AS events,
				SUM(viewers) AS viewers, SUM(orders) AS orders, SUM(quantity) AS quantity, SUM(amount_minor) AS amount
				FROM interaction_days` + where
		} else {
			q = "SELECT CAST(" + key + " AS BIGINT) AS k, " + kind + ` AS kind, COUNT(*) AS events,
				COUNT(DISTINCT CASE WHEN account_id <> 0 THEN account_id END) + SUM(CASE WHEN account_id = 0 THEN 1 ELSE 0 END) AS viewers,
				COUNT(DISTINCT CASE WHEN order_id <> 0 THEN order_id END) AS orders,
				SUM(quantity) AS quantity, SUM(amount_minor) AS amount
				FROM interactions` + where
		}
		if len(groupBy) > 0 {
			q += " GROUP BY " + strings.Join(groupBy, ", ")
		}
	}
	sum := func(c string) string { return "CAST(COALESCE(SUM(" + c + "), 0) AS BIGINT)" }
	q = "SELECT k, kind, " + sum("events") + ", " + sum("viewers") + ", " + sum("orders") + ", " + sum("quantity") + ", " +
		sum("amount") + " FROM (" + q + ") t GROUP BY k, kind"
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []discovery.ActivityCount
	for rows.Next() {
		var c discovery.ActivityCount
		var kind string
		var viewers sql.NullInt64
		if err := rows.Scan(&c.Key, &kind, &c.Events, &viewers, &c.Orders, &c.Quantity, &c.AmountMinor); err != nil {
			return nil, err
		}
		if c.Events == 0 {
			continue // an aggregate without groups over no rows
		}
		c.Kind, c.Viewers = discovery.InteractionKind(kind), viewers.Int64
		out = append(out, c)
	}
	return out, rows.Err()
}

// WatchSessions implements commerce.AnalyticsStore: the sessions logged
// and, unless f names a product, the open ones as far as last seen.
func (db *DB) WatchSessions(ctx context.Context, f discovery.AnalyticsFilter) ([]discovery.WatchSession, error) {
	f.Kinds = []discovery.InteractionKind{discovery.InteractionWatch}
	where, args := analyticsWhere(f, false)
	q := "SELECT stream_id, account_id, started_at, at, 0 FROM interactions" + where
	if f.ProductID == 0 {
		open, oargs := openWatchWhere(f)
		q += " UNION ALL SELECT stream_id, account_id, started_at, seen_at, 1 FROM watch_open" + open
		args = append(args, oargs...)
	}
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []discovery.WatchSession
	for rows.Next() {
		var s discovery.WatchSession
		var from, to, open int64
		if err := rows.Scan(&s.StreamID, &s.AccountID, &from, &to, &open); err != nil {
			return nil, err
		}
		s.From, s.To, s.Open = fromMicros(from), fromMicros(to), open == 1
		out = append(out, s)
	}
	return out, rows.Err()
}

// ProductTitles implements commerce.AnalyticsStore.
func (db *DB) ProductTitles(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	err := eachChunk(toAny(ids), inChunk, func(ids []any) error {
		rows, err := db.query(ctx, "SELECT id, title FROM products WHERE id IN ("+placeholders(len(ids))+")", ids...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var title string
			if err := rows.Scan(&id, &title); err != nil {
				return err
			}
			out[id] = title
		}
		return rows.Err()
	})
	return out, err
}

// StreamsStarted implements commerce.AnalyticsStore.
func (db *DB) StreamsStarted(ctx context.Context, shopID int64, from, to time.Time, limit int) ([]discovery.StreamWindow, error) {
	rows, err := db.query(ctx, `SELECT id, title, status, started_at, ended_at FROM streams
		WHERE shop_id = ? AND started_at >= ? AND started_at < ? ORDER BY started_at DESC LIMIT ?`,
		shopID, micros(from), micros(to), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []discovery.StreamWindow
	for rows.Next() {
		var w discovery.StreamWindow
		var started, ended sql.NullInt64
		if err := rows.Scan(&w.ID, &w.Title, &w.Status, &started, &ended); err != nil {
			return nil, err
		}
		if started.Valid {
			t := fromMicros(started.Int64)
			w.StartedAt = &t
		}
		if ended.Valid {
			t := fromMicros(ended.Int64)
			w.EndedAt = &t
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// OrderCounts implements commerce.AnalyticsStore. An order is credited to
// the stream it names or, failing that, to the one order_streams holds;
// the stream filter reads both through their stream indexes.
func (db *DB) OrderCounts(ctx context.Context, f discovery.AnalyticsFilter, group int) ([]discovery.OrderCount, error) {
	const credited = "COALESCE(o.stream_id, os.stream_id)"
	where := []string{"p.status IN ('" + commerce.PaymentCaptured + "', '" + commerce.PaymentRefunded + "')"}
	var args []any
	if f.ShopID != 0 {
		where = append(where, "o.shop_id = ?")
		args = append(args, f.ShopID)
	}
	streams := f.StreamIDs
	if f.StreamID != 0 {
		streams = append([]int64{f.StreamID}, streams...)
	}
	if len(streams) > 0 {
		in := placeholders(len(streams))
		where = append(where, credited+" IN ("+in+") AND o.id IN (SELECT id FROM orders WHERE stream_id IN ("+in+
			") UNION SELECT order_id FROM order_streams WHERE stream_id IN ("+in+"))")
		for range 3 {
			args = append(args, toAny(streams)...)
		}
	}
	lines := group == discovery.GroupProduct || f.ProductID != 0
	if f.ProductID != 0 {
		where = append(where, "l.product_id = ?")
		args = append(args, f.ProductID)
	}
	if !f.From.IsZero() {
		where = append(where, "o.created_at >= ?")
		args = append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "o.created_at < ?")
		args = append(args, micros(f.To))
	}
	key := "0"
	switch group {
	case discovery.GroupDay:
		key = "o.created_at / 86400000000"
	case discovery.GroupProduct:
		key = "l.product_id"
	case discovery.GroupStream:
		key = credited
	}
	const refunded = "p.status = '" + commerce.PaymentRefunded + "'"
	sum := func(x string) string { return "CAST(COALESCE(SUM(" + x + "), 0) AS BIGINT)" }
	q := "SELECT CAST(" + key + " AS BIGINT), COUNT(*), " +
		sum("(SELECT SUM(l.quantity) FROM order_lines l WHERE l.order_id = o.id)") + ", " + sum("o.total_minor") + ", " +
		sum("CASE WHEN "+refunded+" THEN 1 ELSE 0 END") + ", " + sum("CASE WHEN "+refunded+" THEN o.total_minor ELSE 0 END") +
		" FROM orders o"
	if lines {
		const amount = "l.unit_price_minor * l.quantity"
		q = "SELECT CAST(" + key + " AS BIGINT), COUNT(DISTINCT o.id), " + sum("l.quantity") + ", " + sum(amount) + ", " +
			"COUNT(DISTINCT CASE WHEN " + refunded + " THEN o.id END), " + sum("CASE WHEN "+refunded+" THEN "+amount+" ELSE 0 END") +
			" FROM order_lines l JOIN orders o ON o.id = l.order_id"
	}
	q += " JOIN payments p ON p.order_id = o.id LEFT JOIN order_streams os ON os.order_id = o.id WHERE " +
		strings.Join(where, " AND ")
	if group != discovery.GroupNone {
		q += " GROUP BY " + key
	}
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []discovery.OrderCount
	for rows.Next() {
		var c discovery.OrderCount
		if err := rows.Scan(&c.Key, &c.Orders, &c.Units, &c.GrossMinor, &c.Refunds, &c.RefundedMinor); err != nil {
			return nil, err
		}
		if c.Orders > 0 {
			out = append(out, c)
		}
	}
	return out, rows.Err()
}
