package main

import (
	"context"
	"fmt"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// interactionPurgeEvery is how often each node rolls up and purges
// interactions older than --interaction-retention.
const interactionPurgeEvery = time.Hour

// wireDiscovery builds discovery and engagement — the interaction recorder,
// follows with go-live alerts (Redis pub/sub across nodes when configured,
// in process otherwise), search and hashtags, the For You feed, seller
// analytics and share links — serves its routes on /api and the share
// links on /s/, and takes the order events. Call it before wireRoom, so the
// rooms report joins, watch time, likes and comments to it, and so it
// closes after them and writes their last sessions. Every node rolls up
// and purges the interaction log hourly (--interaction-retention).
func (a *app) wireDiscovery(ctx context.Context) error {
	var bus commerce.AlertBus = commerce.NewMemoryAlerts()
	if a.redis != nil {
		rb, err := commerce.NewRedisAlerts(ctx, a.redis, a.cfg.RedisPrefix, a.log.With("component", "alerts"))
		if err != nil {
			return fmt.Errorf("go-live alerts: %w", err)
		}
		bus = rb
	}
	a.onClose(func() { bus.Close() })
	d, err := commerce.NewDiscovery(a.cfg.Discovery, commerce.DiscoveryDeps{
		Service:    a.commerce,
		Store:      a.store,
		Alerts:     bus,
		Limiter:    a.limits,
		Registerer: a.metrics,
		Logger:     a.log.With("component", "discovery"),
	})
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	a.discovery = d
	a.onClose(func() { d.Close() })
	retention, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.RunRetention(retention, interactionPurgeEvery)
	}()
	a.onClose(func() {
		cancel()
		<-done
	})
	a.commerce.SetOrderEvents(d)
	h := commerce.NewDiscoveryHandler(d, commerce.NewHandler(a.commerce))
	h.Register(a.api)
	h.RegisterLinks(a.echo)
	return nil
}
