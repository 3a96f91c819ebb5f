package room

import (
	"context"
	"fmt"
)

// RefreshPin sends the stream's room, on every node, the pinned product's
// card as it is now, when productID is the product the stream has pinned:
// the card's stock changes with orders and flash sales while it stays
// pinned, and viewers must not see units that are gone. It reports whether
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
	p, err := h.dir.Product(ctx, info.ShopID, productID)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("product %d: %w", productID, err)
	}
	if _, err := h.publish(ctx, streamID, Event{Type: EventPinned, Data: pinnedData{p}}); err != nil {
		return false, err
	}
	return true, nil
}
