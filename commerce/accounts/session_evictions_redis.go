package accounts

import (
	"context"
	"log/slog"

	"github.com/liveshop/liveshop/commerce/internal/bus"

	"github.com/redis/go-redis/v9"
)

// RedisSessionEvictions is the multi-node SessionEvictions: Redis pub/sub
// on one channel per deployment (prefix + "sessions:evict"). A node that
// is cut off from Redis misses what is published meanwhile; once go-redis
// has reconnected it hears SessionEviction{All: true} and empties its
// cache, and until then its cached sessions last at most
// Config.SessionCacheTTL.
type RedisSessionEvictions struct{ *bus.Redis[SessionEviction] }

var _ SessionEvictions = (*RedisSessionEvictions)(nil)

// NewRedisSessionEvictions subscribes to the deployment's eviction channel
// and returns once the subscription is active. prefix defaults to
// "liveshop:".
func NewRedisSessionEvictions(ctx context.Context, rdb redis.UniversalClient, prefix string, log *slog.Logger) (*RedisSessionEvictions, error) {
	b, err := bus.NewRedis(ctx, rdb, prefix, "sessions:evict", &SessionEviction{All: true}, log)
	if err != nil {
		return nil, err
	}
	return &RedisSessionEvictions{b}, nil
}
