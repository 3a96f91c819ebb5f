package flash

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveshop/liveshop/commerce"
)

// RedisStock is the multi-node StockEngine: every operation is one Lua
// script, so checking and changing a sale's counters is atomic across all
// nodes. All keys of one sale share the hash tag {sale:ID} and every script
// touches only them, so it runs unchanged on Redis Cluster. Redis must keep
// its data across restarts (appendonly yes) for held reservations to survive
// one; a sale that vanished anyway is restored from SQL by the service.
type RedisStock struct {
	rdb     redis.UniversalClient
	prefix  string
	scripts redisStockScripts
	batch   reserveBatcher
}

var _ StockEngine = (*RedisStock)(nil)

//go:embed stock_lua/*.lua
var stockLua embed.FS

type redisStockScripts struct {
	create, reserveMany, get, confirm, adopt, release, expire, end, correct, counts *redis.Script
}

func loadStockScripts() redisStockScripts {
	lib := mustReadLua("lib")
	s := func(name string) *redis.Script { return redis.NewScript(lib + "\n" + mustReadLua(name)) }
	return redisStockScripts{
		create: s("create"), reserveMany: s("reserve_many"), get: s("get"), confirm: s("confirm"), adopt: s("adopt"), release: s("release"),
		expire: s("expire"), end: s("end"), correct: s("correct"), counts: s("counts"),
	}
}

func mustReadLua(name string) string {
	b, err := stockLua.ReadFile("stock_lua/" + name + ".lua")
	if err != nil {
		panic("commerce: embedded stock script " + name + " missing: " + err.Error())
	}
	return string(b)
}

// NewRedisStock returns an engine on rdb with keys under prefix
// ("liveshop:" when empty). The prefix must not contain braces: the sale's
// hash tag must be the first one in each key.
func NewRedisStock(rdb redis.UniversalClient, prefix string) (*RedisStock, error) {
	if prefix == "" {
		prefix = "liveshop:"
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("redis stock: key prefix %q must not contain { or }", prefix)
	}
	e := &RedisStock{rdb: rdb, prefix: prefix, scripts: loadStockScripts()}
	e.batch.e = e
	return e, nil
}

// keys returns the sale's meta, buyers, reservations and expiry keys.
func (e *RedisStock) keys(saleID int64) []string {
	base := e.prefix + "{sale:" + strconv.FormatInt(saleID, 10) + "}:"
	return []string{base + "m", base + "b", base + "r", base + "x"}
}

// run executes a script and returns its reply as integers (Lua numbers
// arrive as integers; the sale's counts are always the first six).
func (e *RedisStock) run(ctx context.Context, s *redis.Script, saleID int64, args ...any) (code int64, c StockCounts, extra []any, err error) {
	v, err := s.Run(ctx, e.rdb, e.keys(saleID), args...).Slice()
	if err != nil {
		if ctx.Err() != nil {
			return 0, c, nil, ctx.Err()
		}
		return 0, c, nil, fmt.Errorf("stock of sale %d: %w: %v", saleID, commerce.ErrUnavailable, err)
	}
	if len(v) == 0 {
		return 0, c, nil, fmt.Errorf("stock of sale %d: empty script reply", saleID)
	}
	code = asInt(v[0])
	if code == 0 {
		return 0, c, nil, ErrStockUnknown
	}
	if len(v) < 6 {
		return 0, c, nil, fmt.Errorf("stock of sale %d: short script reply %v", saleID, v)
	}
	c = StockCounts{Quantity: asInt(v[1]), Remaining: asInt(v[2]), Reserved: asInt(v[3]), Sold: asInt(v[4]), Ended: asInt(v[5]) == 1}
	return code, c, v[6:], nil
}

func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

// CreateSale implements StockEngine.
func (e *RedisStock) CreateSale(ctx context.Context, s SaleStock) error {
	if err := s.check(); err != nil {
		return err
	}
	var keep int64
	if !s.KeepUntil.IsZero() {
		keep = s.KeepUntil.UnixMilli()
	}
	args := []any{s.Quantity, s.PerBuyerLimit, keep}
	for _, r := range s.Sold {
		args = append(args, r.ID, r.BuyerID, r.Quantity)
	}
	err := e.scripts.create.Run(ctx, e.rdb, e.keys(s.SaleID), args...).Err()
	if err != nil {
		return fmt.Errorf("create stock of sale %d: %w: %v", s.SaleID, commerce.ErrUnavailable, err)
	}
	return nil
}

// Reserve implements StockEngine. Concurrent reservations are batched
// into one script call per sale (see reserveBatcher).
func (e *RedisStock) Reserve(ctx context.Context, saleID, buyerID, quantity int64, ttl time.Duration) (Reservation, StockCounts, error) {
	if quantity <= 0 {
		return Reservation{}, StockCounts{}, commerce.Invalid("quantity must be at least 1")
	}
	for {
		a := e.batch.reserve(ctx, saleID, buyerID, quantity, ttl)
		if a.err != nil {
			return Reservation{}, a.counts, a.err
		}
		switch a.code {
		case 1:
			return Reservation{SaleID: saleID, ID: a.id, BuyerID: buyerID, Quantity: quantity, State: ReservationHeld,
				ExpiresAt: time.UnixMilli(a.expMs)}, a.counts, nil
		case 0:
			return Reservation{}, a.counts, ErrStockUnknown
		case -2:
			return Reservation{}, a.counts, ErrSaleEnded
		case -3:
			return Reservation{}, a.counts, ErrSoldOut
		case -4:
			return Reservation{}, a.counts, ErrBuyerLimit
		case -9:
			continue // the random ID is taken; draw another
		default:
			return Reservation{}, a.counts, fmt.Errorf("reserve in sale %d: unexpected script code %d", saleID, a.code)
		}
	}
}

// reservationFrom reads the buyer, qty, state, expires_ms tail of a reply.
func reservationFrom(saleID, id int64, extra []any) (Reservation, error) {
	if len(extra) < 4 {
		return Reservation{}, errors.New("short reservation in script reply")
	}
	states := map[string]ReservationState{"h": ReservationHeld, "s": ReservationSold, "r": ReservationReleased, "e": ReservationExpired}
	st, _ := extra[2].(string)
	return Reservation{SaleID: saleID, ID: id, BuyerID: asInt(extra[0]), Quantity: asInt(extra[1]),
		State: states[st], ExpiresAt: time.UnixMilli(asInt(extra[3]))}, nil
}

// Reservation implements StockEngine.
func (e *RedisStock) Reservation(ctx context.Context, saleID, reservationID int64) (Reservation, error) {
	code, _, extra, err := e.run(ctx, e.scripts.get, saleID, reservationID)
	if err != nil {
		return Reservation{}, err
	}
	if code != 1 {
		return Reservation{}, ErrReservationNotFound
	}
	return reservationFrom(saleID, reservationID, extra)
}

// Confirm implements StockEngine.
func (e *RedisStock) Confirm(ctx context.Context, saleID, reservationID int64) (Reservation, StockCounts, error) {
	code, c, extra, err := e.run(ctx, e.scripts.confirm, saleID, reservationID)
	if err != nil {
		return Reservation{}, c, err
	}
	if code == -5 {
		return Reservation{}, c, ErrReservationNotFound
	}
	r, err := reservationFrom(saleID, reservationID, extra)
	if err != nil {
		return Reservation{}, c, err
	}
	switch code {
	case -6:
		return r, c, ErrReservationExpired
	case -7:
		return r, c, ErrReservationReleased
	}
	return r, c, nil
}

// Adopt implements StockEngine.
func (e *RedisStock) Adopt(ctx context.Context, r Reservation) (Reservation, StockCounts, error) {
	if err := r.checkAdoptable(); err != nil {
		return Reservation{}, StockCounts{}, err
	}
	code, c, extra, err := e.run(ctx, e.scripts.adopt, r.SaleID, r.ID, r.BuyerID, r.Quantity)
	switch {
	case err != nil:
		return Reservation{}, c, err
	case code == -3:
		return Reservation{}, c, ErrSoldOut
	case code == -8:
		return e.Confirm(ctx, r.SaleID, r.ID)
	}
	got, err := reservationFrom(r.SaleID, r.ID, extra)
	return got, c, err
}

// Release implements StockEngine.
func (e *RedisStock) Release(ctx context.Context, saleID, reservationID int64) (Reservation, bool, StockCounts, error) {
	code, c, extra, err := e.run(ctx, e.scripts.release, saleID, reservationID)
	if err != nil {
		return Reservation{}, false, c, err
	}
	if code == -5 {
		return Reservation{}, false, c, ErrReservationNotFound
	}
	r, err := reservationFrom(saleID, reservationID, extra)
	return r, code == 1 && err == nil, c, err
}

// ExpireDue implements StockEngine.
func (e *RedisStock) ExpireDue(ctx context.Context, saleID int64, max int) ([]Reservation, StockCounts, error) {
	_, c, extra, err := e.run(ctx, e.scripts.expire, saleID, max)
	if err != nil {
		return nil, c, err
	}
	var out []Reservation
	for i := 0; i+3 < len(extra); i += 4 {
		out = append(out, Reservation{SaleID: saleID, ID: asInt(extra[i]), BuyerID: asInt(extra[i+1]),
			Quantity: asInt(extra[i+2]), State: ReservationExpired, ExpiresAt: time.UnixMilli(asInt(extra[i+3]))})
	}
	return out, c, nil
}

// Counts implements StockEngine.
func (e *RedisStock) Counts(ctx context.Context, saleID int64) (StockCounts, error) {
	_, c, _, err := e.run(ctx, e.scripts.counts, saleID)
	return c, err
}

// End implements StockEngine.
func (e *RedisStock) End(ctx context.Context, saleID int64) (StockCounts, error) {
	_, c, _, err := e.run(ctx, e.scripts.end, saleID)
	return c, err
}

// Correct implements StockEngine.
func (e *RedisStock) Correct(ctx context.Context, saleID, sold int64) (StockCounts, error) {
	if sold < 0 {
		return StockCounts{}, commerce.Invalid("sold must not be negative")
	}
	_, c, _, err := e.run(ctx, e.scripts.correct, saleID, sold)
	return c, err
}
