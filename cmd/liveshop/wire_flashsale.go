package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/flash"
	"github.com/liveshop/liveshop/room"
)

// wireFlashSales builds the flash-sale service on the stock engine picked
// at start-up (Redis when configured, so every node shares each sale's
// units; the in-process engine otherwise), telling rooms its news through
// pub, starts its sweeper and serves its routes.
func (a *app) wireFlashSales(pub roomPublisher) error {
	var engine flash.StockEngine = flash.NewMemoryStock()
	if a.redis != nil {
		rs, err := flash.NewRedisStock(a.redis, a.cfg.RedisPrefix)
		if err != nil {
			return fmt.Errorf("flash sales: %w", err)
		}
		engine = rs
	}
	a.flash = flash.New(a.commerce, a.store, engine, flashSaleRooms{pub: pub}, a.cfg.FlashSale, a.metrics,
		a.log.With("component", "flashsale"))
	a.flash.Start()
	a.onClose(a.flash.Close)
	flash.NewHandler(a.flash, commerce.NewHandler(a.commerce)).Register(a.api)
	a.openapi = append(a.openapi, flash.OpenAPIFlashSale)
	return nil
}

// roomPublisher is how news reaches rooms (a room.Publisher).
type roomPublisher interface {
	Publish(ctx context.Context, streamID int64, ev room.Event) (uint64, error)
}

// flashSaleRooms adapts the room hub to flash.Notifier: each
// piece of news becomes the room event of the same name, fanned out to
// every node through the room bus.
type flashSaleRooms struct{ pub roomPublisher }

var _ flash.Notifier = flashSaleRooms{}

func roomSale(fs flash.Sale) room.FlashSale {
	return room.FlashSale{ID: fs.ID, ProductID: fs.ProductID, Title: fs.Title, ImageURL: fs.ImageURL,
		PriceMinor: fs.PriceMinor, Currency: fs.Currency, Quantity: fs.Quantity, Remaining: fs.Remaining,
		PerBuyerLimit: fs.PerBuyerLimit, StartsAt: fs.StartsAt, EndsAt: fs.EndsAt}
}

func (r flashSaleRooms) SaleStarted(ctx context.Context, fs flash.Sale) error {
	_, err := r.pub.Publish(ctx, fs.StreamID, room.Event{Type: room.EventFlashSale, Data: roomSale(fs)})
	return err
}

func (r flashSaleRooms) SaleStock(ctx context.Context, streamID, saleID, remaining int64, soldOut bool) error {
	_, err := r.pub.Publish(ctx, streamID, room.Event{Type: room.EventFlashSaleStock,
		Data: room.FlashSaleStock{ID: saleID, Remaining: remaining, SoldOut: soldOut}})
	return err
}

func (r flashSaleRooms) SaleEnded(ctx context.Context, streamID, saleID int64, reason string, remaining int64) error {
	_, err := r.pub.Publish(ctx, streamID, room.Event{Type: room.EventFlashSaleEnded,
		Data: room.FlashSaleEnded{ID: saleID, Reason: reason, Remaining: remaining}})
	return err
}

func (r flashSaleRooms) Purchase(ctx context.Context, streamID int64, p flash.PurchaseNotice) error {
	_, err := r.pub.Publish(ctx, streamID, room.Event{Type: room.EventPurchase,
		Data: room.Purchase{Buyer: p.Buyer, ProductID: p.ProductID, ProductTitle: p.ProductTitle, Quantity: p.Quantity}})
	return err
}

// flashSaleSource adapts the flash-sale service to room.FlashSaleSource, so
// a room's snapshot shows the sale that is counting down or running.
type flashSaleSource struct{ f *flash.Service }

var _ room.FlashSaleSource = flashSaleSource{}

func (s flashSaleSource) ActiveFlashSale(ctx context.Context, streamID int64) (*room.FlashSale, error) {
	fs, err := s.f.ActiveSale(ctx, streamID)
	if errors.Is(err, commerce.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rs := roomSale(fs)
	return &rs, nil
}
