package flash

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// The hand-written answer of "Buy now" must be exactly what encoding/json
// makes of reservationView.
func TestReservationViewJSONMatchesEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Reservation
		c    StockCounts
	}{
		{"held, units left", Reservation{SaleID: 7, ID: 1<<53 - 1, BuyerID: 42, Quantity: 2, State: ReservationHeld,
			ExpiresAt: time.UnixMilli(1_790_000_000_123)}, StockCounts{Quantity: 10, Remaining: 8, Reserved: 2}},
		{"sold out, whole second", Reservation{SaleID: 1, ID: 5, BuyerID: 9, Quantity: 1, State: ReservationHeld,
			ExpiresAt: time.Unix(1_790_000_000, 0).UTC()}, StockCounts{Quantity: 1, Reserved: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(reservationView{Reservation: tc.r, Remaining: tc.c.Remaining, SoldOut: tc.c.SoldOut()}); err != nil {
				t.Fatal(err)
			}
			if got := appendReservationView(nil, tc.r, tc.c); !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("got  %s\nwant %s", got, want.Bytes())
			}
		})
	}
}
