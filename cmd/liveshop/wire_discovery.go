package main

import (
	"context"
	"fmt"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/discovery"
)

// interactionPurgeEvery is how often each node rolls up and purges
// interactions older than --interaction-retention.
const interactionPurgeEvery = time.Hour

// wireDiscovery builds discovery and engagement — the interaction recorder,
// follows with go-live alerts (Redis pub/sub across nodes when configured,
// in process otherwise), search and hashtags, the For You feed, seller
// analytics and share links — serves its routes on /api and the share
// links on /s/. The rooms, built after it, report joins, watch time, likes
// and comments to it, and it closes after them and writes their last
// sessions; newApp connects it to the core's order events and activity. Every node rolls up
// and purges the interaction log hourly (--interaction-retention).
func (a *app) wireDiscovery(ctx context.Context) error {
	var bus discovery.AlertBus = discovery.NewMemoryAlerts()
	if a.redis != nil {
		rb, err := discovery.NewRedisAlerts(ctx, a.redis, a.cfg.RedisPrefix, a.log.With("component", "alerts"))
		if err != nil {
			return fmt.Errorf("go-live alerts: %w", err)
		}
		bus = rb
	}
	a.onClose(func() { bus.Close() })
	d, err := discovery.New(a.cfg.Discovery, discovery.Deps{
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
	h := discovery.NewHandler(d, commerce.NewHandler(a.commerce))
	h.Register(a.api)
	h.RegisterLinks(a.echo)
	return nil
}
