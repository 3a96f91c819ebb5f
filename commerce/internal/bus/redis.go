package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Redis is the multi-node bus: Redis pub/sub on one channel, messages as
// JSON. Delivery is fire-and-forget: a node that is disconnected from Redis
// when a message is published misses it. go-redis reconnects and
// subscribes again by itself; a bus made with a gap message hands it to
// its subscribers then, so they can make up for what they may have missed.
type Redis[T any] struct {
	Fanout[T]
	rdb     redis.UniversalClient
	channel string
	gap     *T
	ps      *redis.PubSub
	log     *slog.Logger
	done    chan struct{}
}

// NewRedis subscribes to the channel prefix+name (prefix defaults to
// "liveshop:") and returns once the subscription is active, so nothing
// published afterwards is missed. gap, if not nil, is delivered each time
// the subscription comes back after a lost connection.
func NewRedis[T any](ctx context.Context, rdb redis.UniversalClient, prefix, name string, gap *T, log *slog.Logger) (*Redis[T], error) {
	if prefix == "" {
		prefix = "liveshop:"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	channel := prefix + name
	b := &Redis[T]{Fanout: NewFanout[T](), rdb: rdb, channel: channel, gap: gap, log: log, done: make(chan struct{})}
	b.ps = rdb.Subscribe(ctx, channel)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := b.ps.Receive(ctx); err != nil {
		b.ps.Close()
		return nil, fmt.Errorf("subscribe to %s: %w", channel, err)
	}
	go b.loop(b.ps.ChannelWithSubscriptions(redis.WithChannelSize(256)))
	return b, nil
}

func (b *Redis[T]) loop(ch <-chan any) {
	defer close(b.done)
	for m := range ch {
		switch m := m.(type) {
		case *redis.Subscription:
			// The constructor read the first confirmation: this one
			// follows a reconnection.
			if m.Kind == "subscribe" && b.gap != nil {
				b.log.Info("resubscribed after a lost connection", "channel", b.channel)
				_ = b.deliver(*b.gap)
			}
		case *redis.Message:
			var v T
			if err := json.Unmarshal([]byte(m.Payload), &v); err != nil {
				b.log.Warn("unreadable message", "channel", b.channel, slog.Any("error", err))
				continue
			}
			_ = b.deliver(v)
		}
	}
}

// Publish sends v to the subscribers on every node.
func (b *Redis[T]) Publish(ctx context.Context, v T) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := b.rdb.Publish(ctx, b.channel, payload).Err(); err != nil {
		return fmt.Errorf("%w: publish on %s: %v", api.ErrUnavailable, b.channel, err)
	}
	return nil
}

// Close stops the bus; it does not close the Redis client.
func (b *Redis[T]) Close() error {
	if !b.shut() {
		return nil
	}
	err := b.ps.Close()
	<-b.done
	return err
}
