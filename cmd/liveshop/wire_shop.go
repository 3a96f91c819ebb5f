package main

import (
	"context"
	"time"
)

// checkoutSweepEvery is how often each node looks for abandoned checkouts.
const checkoutSweepEvery = time.Minute

// wireShop starts the shop API's background work: the sweeper that settles
// checkouts whose request died mid-payment and was never retried (see
// commerce.Service.SweepAbandonedCheckouts). It stops before the stores
// close.
func (a *app) wireShop() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.commerce.RunCheckoutSweeper(ctx, checkoutSweepEvery)
	}()
	a.onClose(func() {
		cancel()
		<-done
	})
}
