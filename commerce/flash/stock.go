package flash

import (
	"context"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/internal/api"
)

// StockEngine holds the units of running flash sales and hands them out as
// reservations. It is the hot path of a sale: thousands of buyers press "Buy
// now" within a second, so it never touches SQL. Every operation on one sale
// is atomic: stock and the per-buyer limit are checked and changed together,
// so no interleaving of reservers on any number of nodes can oversell or let
// a buyer past the limit.
//
// MemoryStock serves one node (the embedded default); RedisStock serves many
// nodes sharing one Redis. Both pass the same contract suite
// (commerce/stocktest). SQL stays the system of record for what was sold: the
// flash-sale service reconciles the engine with it when a sale ends.
//
// Times come from the engine's own clock (Redis's for RedisStock), so nodes
// with skewed clocks agree on when a reservation lapses.
type StockEngine interface {
	// CreateSale puts a sale's units on offer. It is idempotent: when the
	// engine already holds the sale it is left as it is, so a retried
	// create or a restore on a second node changes nothing. Restoring a sale
	// the engine lost (a restarted single node) passes the units already
	// sold and each buyer's units, as SQL knows them.
	CreateSale(ctx context.Context, s SaleStock) error
	// Reserve takes quantity units for buyer, held for ttl. It fails with
	// ErrSoldOut when fewer units remain, ErrBuyerLimit when the buyer would
	// hold more than the per-buyer limit (held and sold units count), and
	// ErrSaleEnded after End; ErrStockUnknown when the engine has no such
	// sale. Lapsed reservations give their units back through ExpireDue,
	// which the flash-sale service calls about once a second per sale.
	Reserve(ctx context.Context, saleID, buyerID, quantity int64, ttl time.Duration) (Reservation, StockCounts, error)
	// Reservation returns one reservation in its current state (a held
	// one past its expiry shows as expired); ErrReservationNotFound when the
	// sale has none with that ID.
	Reservation(ctx context.Context, saleID, reservationID int64) (Reservation, error)
	// Confirm marks a held reservation sold: its units no longer lapse.
	// Confirming a sold reservation again is a no-op that succeeds, so a
	// retried checkout is safe. A lapsed reservation (even one whose units
	// ExpireDue has not yet returned) fails with ErrReservationExpired, a
	// released one with ErrReservationReleased.
	Confirm(ctx context.Context, saleID, reservationID int64) (Reservation, StockCounts, error)
	// Adopt records r as sold when the engine does not know it: SQL holds
	// an order of r that the engine lost (it restarted empty and was
	// restored before the order was written). Its units come from those on
	// offer, ErrSoldOut when fewer remain; the buyer's limit was checked
	// when r was reserved. A reservation the engine knows is confirmed as
	// by Confirm.
	Adopt(ctx context.Context, r Reservation) (Reservation, StockCounts, error)
	// Release gives a held or sold reservation's units back at once (the
	// buyer cancelled, the payment was declined) and reports released=true.
	// Releasing a reservation that is already released or expired changes
	// nothing, reports false and succeeds.
	Release(ctx context.Context, saleID, reservationID int64) (r Reservation, released bool, c StockCounts, err error)
	// ExpireDue expires up to max lapsed reservations of the sale, returning
	// their units, and reports which it expired.
	ExpireDue(ctx context.Context, saleID int64, max int) ([]Reservation, StockCounts, error)
	// Counts reports the sale's units.
	Counts(ctx context.Context, saleID int64) (StockCounts, error)
	// End stops new reservations. Held reservations may still be confirmed
	// until they lapse, so a buyer who was in time can finish paying.
	End(ctx context.Context, saleID int64) (StockCounts, error)
	// Correct sets the sold count to what SQL, the system of record, says
	// after the sale (reconciliation), adjusting the remaining units.
	Correct(ctx context.Context, saleID, sold int64) (StockCounts, error)
}

// SaleStock is what the engine needs to know about a sale.
type SaleStock struct {
	SaleID        int64
	Quantity      int64
	PerBuyerLimit int64
	// KeepUntil is when the engine may forget the sale: well after it ended
	// and was reconciled.
	KeepUntil time.Time
	// Sold restores a sale the engine lost: the reservations that SQL
	// holds orders of (paid or being paid). Each is recorded as sold under
	// its own ID, so a checkout that had written its order before the loss
	// confirms it as usual; their units are the sale's sold units and count
	// toward each buyer's limit. Empty for a new sale.
	Sold []Reservation
}

// ReservationState is where a reservation is in its life.
type ReservationState string

// Reservation states. Held becomes sold (paid for), released (cancelled or
// declined) or expired (not paid in time); the last three are final except
// that a sold reservation may still be released when its payment fails.
const (
	ReservationHeld     ReservationState = "held"
	ReservationSold     ReservationState = "sold"
	ReservationReleased ReservationState = "released"
	ReservationExpired  ReservationState = "expired"
)

// Reservation is units of a sale set aside for one buyer. IDs are random,
// unique within the sale and below 2^53, so JavaScript clients read them
// exactly.
type Reservation struct {
	SaleID    int64            `json:"sale_id"`
	ID        int64            `json:"id"`
	BuyerID   int64            `json:"buyer_id"`
	Quantity  int64            `json:"quantity"`
	State     ReservationState `json:"state"`
	ExpiresAt time.Time        `json:"expires_at"`
}

// StockCounts is a sale's units at one moment: Remaining are on offer,
// Reserved are held for buyers who have not paid yet, Sold are paid for.
// Remaining + Reserved + Sold = Quantity.
type StockCounts struct {
	Quantity  int64 `json:"quantity"`
	Remaining int64 `json:"remaining"`
	Reserved  int64 `json:"reserved"`
	Sold      int64 `json:"sold"`
	Ended     bool  `json:"ended"`
}

// SoldOut reports that nothing is on offer. Units held by others may still
// come back if their reservations lapse.
func (c StockCounts) SoldOut() bool { return c.Remaining <= 0 }

// Errors of the stock engine, each with its own code so a buyer's page can
// say exactly why "Buy now" did not work.
var (
	// ErrSoldOut means fewer units remain than were asked for.
	ErrSoldOut = api.New(409, "sold_out", "sold out")
	// ErrBuyerLimit means the buyer would hold more than the per-buyer limit.
	ErrBuyerLimit = api.New(409, "limit_reached", "you already hold the most units one buyer may buy in this sale")
	// ErrSaleEnded means the sale no longer takes reservations.
	ErrSaleEnded = api.New(409, "sale_ended", "this flash sale has ended")
	// ErrStockUnknown means the engine does not hold the sale (never
	// created, or lost with a restart); the service restores it from SQL.
	ErrStockUnknown = api.New(404, "sale_not_found", "no such flash sale")
	// ErrReservationNotFound means the sale has no such reservation, or it
	// is someone else's. A hold the engine lost without an order (Redis
	// restarted empty) is gone too: its units are back on sale.
	ErrReservationNotFound = api.New(404, "reservation_not_found", "no such reservation: it is not yours, or a server fault lost the hold and its units went back on sale; press Buy now to reserve again")
	// ErrReservationExpired means the reservation lapsed before it was paid
	// for; its units went back to the sale.
	ErrReservationExpired = api.New(410, "reservation_expired", "the reservation expired; its units went back on sale")
	// ErrReservationReleased means the reservation was cancelled.
	ErrReservationReleased = api.New(409, "reservation_released", "the reservation was cancelled")
)

// maxReservationID keeps reservation IDs exact in JavaScript numbers.
const maxReservationID = 1<<53 - 1

// check validates a sale's stock before an engine creates it.
func (s SaleStock) check() error {
	var sold int64
	for _, r := range s.Sold {
		if r.ID <= 0 || r.ID > maxReservationID || r.Quantity <= 0 {
			return commerce.Invalid("stock of sale %d: sold reservation %d out of range", s.SaleID, r.ID)
		}
		sold += r.Quantity
	}
	if s.Quantity < 0 || s.PerBuyerLimit <= 0 || sold > s.Quantity {
		return commerce.Invalid("stock of sale %d: quantity, limit or sold out of range", s.SaleID)
	}
	return nil
}

// checkAdoptable validates a reservation before Adopt.
func (r Reservation) checkAdoptable() error {
	if r.ID <= 0 || r.ID > maxReservationID || r.Quantity <= 0 || r.BuyerID <= 0 {
		return commerce.Invalid("reservation %d of sale %d out of range", r.ID, r.SaleID)
	}
	return nil
}
