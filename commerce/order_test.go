package commerce_test

import (
	"testing"

	"github.com/liveshop/liveshop/commerce"
)

// TestOrderStateMachine walks every from → to pair of order statuses: the
// documented moves are allowed, every other one (staying put included) is
// refused.
func TestOrderStateMachine(t *testing.T) {
	statuses := []string{commerce.OrderAwaitingPayment, commerce.OrderPaid, commerce.OrderShipped,
		commerce.OrderDelivered, commerce.OrderCancelled, commerce.OrderRefunded}
	legal := map[[2]string]bool{
		{commerce.OrderAwaitingPayment, commerce.OrderPaid}:      true,
		{commerce.OrderAwaitingPayment, commerce.OrderCancelled}: true,
		{commerce.OrderPaid, commerce.OrderShipped}:              true,
		{commerce.OrderPaid, commerce.OrderCancelled}:            true,
		{commerce.OrderShipped, commerce.OrderDelivered}:         true,
		{commerce.OrderDelivered, commerce.OrderRefunded}:        true,
		{commerce.OrderCancelled, commerce.OrderRefunded}:        true,
	}
	for _, from := range statuses {
		for _, to := range statuses {
			want := legal[[2]string{from, to}]
			name := from + " may not become " + to
			if want {
				name = from + " may become " + to
			}
			t.Run(name, func(t *testing.T) {
				if got := commerce.CanTransition(from, to); got != want {
					t.Fatalf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
				}
			})
		}
	}
	for _, s := range []string{"", "lost", "PAID"} {
		if commerce.CanTransition(s, commerce.OrderPaid) || commerce.CanTransition(commerce.OrderPaid, s) {
			t.Errorf("an unknown status %q takes part in a transition", s)
		}
	}
}
