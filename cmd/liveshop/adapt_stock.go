package main

import (
	"context"
	"errors"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/room"
)

// pinnedStock adapts the room hub to commerce.StockNotifier: when a
// product's card changes (its stock, or the seller's edit of its price,
// title or images), every open stream of its shop (live or scheduled) that
// has it pinned gets its card again, as it is now. commerce coalesces the
// calls per product (a few per second at most, a sell-out at once, the last
// value always sent), and a stream pins one product, so a room gets no
// more than that.
type pinnedStock struct {
	dir   roomDirectory
	rooms *room.Hub
}

var _ commerce.StockNotifier = pinnedStock{}

func (p pinnedStock) StockChanged(ctx context.Context, shopID, productID, _ int64) error {
	streams, err := p.dir.ShopStreams(ctx, shopID)
	if err != nil {
		return err
	}
	var errs error
	for _, id := range streams {
		if _, err := p.rooms.RefreshPin(ctx, id, productID); err != nil {
			errs = errors.Join(errs, err)
		}
	}
	return errs
}
