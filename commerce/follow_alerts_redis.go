package commerce

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisAlerts is the multi-node AlertBus: Redis pub/sub on one channel per
// deployment (prefix + "discovery:alerts"). Alerts are fire-and-forget,
// like the notification they become: a node that is disconnected from
// Redis at that moment misses them, and its followers still find the
// stream first in their feed.
type RedisAlerts struct {
	rdb     redis.UniversalClient
	channel string
	ps      *redis.PubSub
	log     *slog.Logger
	done    chan struct{}

	mu     sync.RWMutex
	next   int
	subs   map[int]func(Alert)
	closed bool
}

var _ AlertBus = (*RedisAlerts)(nil)

// NewRedisAlerts subscribes to the deployment's alert channel and returns
// once the subscription is active, so nothing published afterwards is
// missed. prefix defaults to "liveshop:".
func NewRedisAlerts(ctx context.Context, rdb redis.UniversalClient, prefix string, log *slog.Logger) (*RedisAlerts, error) {
	if prefix == "" {
		prefix = "liveshop:"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &RedisAlerts{rdb: rdb, channel: prefix + "discovery:alerts", log: log, done: make(chan struct{}),
		subs: map[int]func(Alert){}}
	b.ps = rdb.Subscribe(ctx, b.channel)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := b.ps.Receive(ctx); err != nil {
		b.ps.Close()
		return nil, fmt.Errorf("subscribe to %s: %w", b.channel, err)
	}
	go b.loop(b.ps.Channel(redis.WithChannelSize(256)))
	return b, nil
}

func (b *RedisAlerts) loop(ch <-chan *redis.Message) {
	defer close(b.done)
	for m := range ch {
		var a Alert
		if err := json.Unmarshal([]byte(m.Payload), &a); err != nil {
			b.log.Warn("unreadable go-live alert", slog.Any("error", err))
			continue
		}
		b.mu.RLock()
		for _, fn := range b.subs {
			fn(a)
		}
		b.mu.RUnlock()
	}
}

// Publish implements AlertBus.
func (b *RedisAlerts) Publish(ctx context.Context, a Alert) error {
	payload, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := b.rdb.Publish(ctx, b.channel, payload).Err(); err != nil {
		return fmt.Errorf("%w: publish alert: %v", ErrUnavailable, err)
	}
	return nil
}

// Subscribe implements AlertBus.
func (b *RedisAlerts) Subscribe(fn func(Alert)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errAlertsClosed
	}
	id := b.next
	b.next++
	b.subs[id] = fn
	return func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
	}, nil
}

// Close implements AlertBus; it does not close the Redis client.
func (b *RedisAlerts) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.subs = map[int]func(Alert){}
	b.mu.Unlock()
	err := b.ps.Close()
	<-b.done
	return err
}
