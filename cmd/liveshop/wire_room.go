package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/liveshop/liveshop/room"
)

// roomBus picks the rooms' bus and presence at start-up: Redis when
// configured, so rooms span every node; in memory otherwise. What publishes
// to rooms (flash sales, video) is built on the bus before the hub.
func (a *app) roomBus() (room.Bus, room.Presence) {
	if a.redis != nil {
		bus := room.NewRedisBus(a.redis, room.RedisBusOptions{Prefix: a.cfg.RedisPrefix,
			HistorySize: a.cfg.Room.HistorySize, Logger: a.log.With("component", "roombus")})
		a.onClose(func() { bus.Close() })
		return bus, room.NewRedisPresence(a.redis, a.cfg.RedisPrefix)
	}
	bus := room.NewMemoryBus(a.cfg.Room.HistorySize)
	a.onClose(func() { bus.Close() })
	return bus, room.NewMemoryPresence()
}

// wireRoom builds the room hub on bus and presence with the shared limits,
// the core, flash sales (snapshots carry the running sale) and discovery
// (joins, watch time, likes and comments are recorded), and serves its
// routes.
func (a *app) wireRoom(bus room.Bus, pres room.Presence) error {
	dir := roomDirectory{svc: a.commerce, store: a.store}
	deps := room.Deps{
		Auth:       roomAuth{a.commerce},
		Directory:  dir,
		Store:      a.store.Rooms(),
		Bus:        bus,
		Limits:     a.limits,
		Presence:   pres,
		Logger:     a.log.With("component", "room"),
		Registerer: a.metrics,
		FlashSales: flashSaleSource{a.flash},
		Activity:   roomActivity{a.discovery},
	}
	hub, err := room.NewHub(a.cfg.Room, deps)
	if err != nil {
		return fmt.Errorf("rooms: %w", err)
	}
	a.rooms = hub
	a.onClose(func() { hub.Close() })
	room.NewHandler(hub).Register(a.api)
	a.openapi = append(a.openapi, room.OpenAPI)
	return nil
}

// roomStreamEvents tells the stream record and its room that a stream went
// live or ended. It has the method set of live.Events, for the live wiring
// to pass to the SFU: the record changes first, then every viewer on every
// node gets stream_started or stream_ended.
type roomStreamEvents struct{ a *app }

// StreamStarted tells the room only when the record went live just now. A
// node that takes a live show over (its publisher came back there after
// its origin dropped or crashed) reports a start too; players restart on
// stream_started, and those still playing through a relay must not.
func (e roomStreamEvents) StreamStarted(ctx context.Context, streamID int64) {
	started, err := e.a.commerce.StartStreamRecord(ctx, streamID)
	if err != nil {
		e.a.log.Warn("mark stream live", "stream", streamID, "error", err)
	} else if !started {
		return
	}
	if _, err := e.a.rooms.Publish(ctx, streamID, room.Event{Type: room.EventStreamStarted}); err != nil {
		e.a.log.Warn("announce stream start", "stream", streamID, "error", err)
	}
}

// StreamEnded tells the room unless the stream's record had ended already:
// a seller who ends the stream through the API tells the room at once
// (streamEndNotifier), and the SFU's own report of that end then stays
// quiet, so viewers hear stream_ended once.
func (e roomStreamEvents) StreamEnded(ctx context.Context, streamID int64) {
	ended, err := e.a.commerce.EndStreamRecord(ctx, streamID)
	if err != nil {
		e.a.log.Warn("mark stream ended", "stream", streamID, "error", err)
	} else if !ended {
		return
	}
	announceStreamEnd(ctx, e.a.rooms, e.a.log, streamID)
}

// announceStreamEnd sends stream_ended to every viewer of the stream's room,
// on every node.
func announceStreamEnd(ctx context.Context, rooms roomPublisher, log *slog.Logger, streamID int64) {
	if _, err := rooms.Publish(ctx, streamID, room.Event{Type: room.EventStreamEnded}); err != nil {
		log.Warn("announce stream end", "stream", streamID, "error", err)
	}
}
