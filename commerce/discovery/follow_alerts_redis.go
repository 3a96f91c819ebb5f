package discovery

import (
	"context"
	"log/slog"

	"github.com/liveshop/liveshop/commerce/internal/bus"

	"github.com/redis/go-redis/v9"
)

// RedisAlerts is the multi-node AlertBus: Redis pub/sub on one channel per
// deployment (prefix + "discovery:alerts"). Alerts are fire-and-forget,
// like the notification they become: a node that is disconnected from
// Redis at that moment misses them, and its followers still find the
// stream first in their feed.
type RedisAlerts struct{ *bus.Redis[Alert] }

var _ AlertBus = (*RedisAlerts)(nil)

// NewRedisAlerts subscribes to the deployment's alert channel and returns
// once the subscription is active, so nothing published afterwards is
// missed. prefix defaults to "liveshop:".
func NewRedisAlerts(ctx context.Context, rdb redis.UniversalClient, prefix string, log *slog.Logger) (*RedisAlerts, error) {
	b, err := bus.NewRedis[Alert](ctx, rdb, prefix, "discovery:alerts", nil, log)
	if err != nil {
		return nil, err
	}
	return &RedisAlerts{b}, nil
}
