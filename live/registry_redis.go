package live

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisRegistry is the cluster OriginRegistry: one key per live stream,
// "<prefix>live:origin:<id>" = "<node>\n<url>" (plus "\ngrace" while the
// origin waits for its publisher), with a TTL its origin node keeps
// refreshing. When the node dies the key expires and other nodes end
// their relays. The relay token is "<prefix>live:relay-token", without
// expiry.
type RedisRegistry struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ OriginRegistry = (*RedisRegistry)(nil)

// NewRedisRegistry keeps origins in rdb under keys starting with prefix
// (for example "liveshop:"), so deployments and tests can share a server.
func NewRedisRegistry(rdb redis.UniversalClient, prefix string) *RedisRegistry {
	return &RedisRegistry{rdb: rdb, prefix: prefix}
}

func (r *RedisRegistry) key(id int64) string {
	return r.prefix + "live:origin:" + strconv.FormatInt(id, 10)
}

// claimScript sets the key when it is free, already ours, or another
// node's in its grace period; the value starts with the node ID and a
// newline.
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1] + 1) ~= ARGV[1] .. '\n' and string.sub(v, -6) ~= '\ngrace' then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1] .. '\n' .. ARGV[2] .. ARGV[4], 'PX', ARGV[3])
return 1
`)

var releaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1] + 1) == ARGV[1] .. '\n' then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Claim implements OriginRegistry.
func (r *RedisRegistry) Claim(ctx context.Context, streamID int64, origin Origin, ttl time.Duration) error {
	if strings.Contains(origin.NodeID, "\n") || origin.NodeID == "" {
		return fmt.Errorf("live: bad node ID %q", origin.NodeID)
	}
	if strings.Contains(origin.URL, "\n") {
		return fmt.Errorf("live: bad origin URL %q", origin.URL)
	}
	grace := ""
	if origin.Grace {
		grace = "\ngrace"
	}
	ok, err := claimScript.Run(ctx, r.rdb, []string{r.key(streamID)},
		origin.NodeID, origin.URL, max(ttl.Milliseconds(), 1), grace).Int()
	if err != nil {
		return fmt.Errorf("claim origin in redis: %w", err)
	}
	if ok == 0 {
		return ErrOriginTaken
	}
	return nil
}

// Release implements OriginRegistry.
func (r *RedisRegistry) Release(ctx context.Context, streamID int64, nodeID string) error {
	if err := releaseScript.Run(ctx, r.rdb, []string{r.key(streamID)}, nodeID).Err(); err != nil {
		return fmt.Errorf("release origin in redis: %w", err)
	}
	return nil
}

// Lookup implements OriginRegistry.
func (r *RedisRegistry) Lookup(ctx context.Context, streamID int64) (Origin, bool, error) {
	v, err := r.rdb.Get(ctx, r.key(streamID)).Result()
	if errors.Is(err, redis.Nil) {
		return Origin{}, false, nil
	}
	if err != nil {
		return Origin{}, false, fmt.Errorf("look up origin in redis: %w", err)
	}
	node, rest, _ := strings.Cut(v, "\n")
	url, flag, _ := strings.Cut(rest, "\n")
	return Origin{NodeID: node, URL: url, Grace: flag == "grace"}, true, nil
}

// RelayToken implements OriginRegistry: the first node to ask stores a
// random token (SET NX), and every node reads the one stored.
func (r *RedisRegistry) RelayToken(ctx context.Context) (string, error) {
	key := r.prefix + "live:relay-token"
	if err := r.rdb.SetNX(ctx, key, newRelayToken(), 0).Err(); err != nil {
		return "", fmt.Errorf("store relay token in redis: %w", err)
	}
	token, err := r.rdb.Get(ctx, key).Result()
	if err != nil {
		return "", fmt.Errorf("read relay token from redis: %w", err)
	}
	return token, nil
}
