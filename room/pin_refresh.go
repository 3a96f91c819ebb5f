package room

import (
	"context"
	"fmt"
)

// RefreshPin sends the stream's room, on every node, the pinned product's
// card as it is now, when productID is the product the stream has pinned:
// the card's stock changes with orders and flash sales while it stays
// pinned, and its price, title and image with the seller's edits, and
// viewers must not see units that are gone or a price that no longer holds. It reports whether
// it sent anything (nothing for another product, or one no longer found).
func (h *Hub) RefreshPin(ctx context.Context, streamID, productID int64) (bool, error) {
	settings, err := h.store.RoomSettings(ctx, streamID)
	if err != nil || productID == 0 || settings.PinnedProductID != productID {
		return false, err
	}
	info, err := h.streamInfo(ctx, streamID)
	if err != nil {
		return false, err
	}
	sent, err := h.publishPin(ctx, info, productID)
	if !sent || err != nil {
		return sent, err
	}
	// The seller may have pinned another product (or unpinned) while this
	// card was on its way, so that it arrived last: then send what is
	// pinned now. A pin made after this check publishes itself, later.
	if settings, err = h.store.RoomSettings(ctx, streamID); err != nil || settings.PinnedProductID == productID {
		return true, err
	}
	_, err = h.publishPin(ctx, info, settings.PinnedProductID)
	return true, err
}

// publishPin publishes productID's card as pinned (unpinned for 0); a
// product no longer found sends nothing.
func (h *Hub) publishPin(ctx context.Context, info StreamInfo, productID int64) (bool, error) {
	ev := Event{Type: EventUnpinned}
	if productID != 0 {
		p, err := h.dir.Product(ctx, info.ShopID, productID)
		if isNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("product %d: %w", productID, err)
		}
		ev = Event{Type: EventPinned, Data: pinnedData{p}}
	}
	if _, err := h.publish(ctx, info.ID, ev); err != nil {
		return false, err
	}
	return true, nil
}
