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
// "<prefix>live:origin:<id>" = "<node>\n<url>\n<grace ms>" (plus
// "\ngrace" while the origin waits for its publisher), which its origin
// node keeps refreshing with a TTL of the claim's ttl + grace. A claim
// whose remaining TTL is no more than its grace has lapsed: its node
// stopped refreshing it (it died), and the key stays for the grace period
// so that every node sees the stream waiting for its publisher, then
// expires. The relay token is "<prefix>live:relay-token", without expiry.
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

// claimScript sets the key when it is free, already ours, another node's
// in its grace period, or another node's that has lapsed (no more than its
// grace ms left); the value starts with the node ID and a newline. It
// returns 0 when set, else the milliseconds until the other claim lapses.
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1] + 1) ~= ARGV[1] .. '\n' and string.sub(v, -6) ~= '\ngrace' then
  local keep = tonumber(string.match(v, '^[^\n]*\n[^\n]*\n(%d+)')) or 0
  local left = redis.call('PTTL', KEYS[1]) - keep
  if left > 0 then
    return left
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. '\n' .. ARGV[2] .. '\n' .. ARGV[5] .. ARGV[4], 'PX', ARGV[3])
return 0
`)

var releaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1] + 1) == ARGV[1] .. '\n' then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// lookupScript returns the claim and its remaining milliseconds, or nil.
var lookupScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  return false
end
return {v, redis.call('PTTL', KEYS[1])}
`)

// Claim implements OriginRegistry.
func (r *RedisRegistry) Claim(ctx context.Context, streamID int64, origin Origin, ttl, grace time.Duration) error {
	if strings.Contains(origin.NodeID, "\n") || origin.NodeID == "" {
		return fmt.Errorf("live: bad node ID %q", origin.NodeID)
	}
	if strings.Contains(origin.URL, "\n") {
		return fmt.Errorf("live: bad origin URL %q", origin.URL)
	}
	flag := ""
	if origin.Grace {
		flag = "\ngrace"
	}
	grace = max(grace, 0)
	left, err := claimScript.Run(ctx, r.rdb, []string{r.key(streamID)},
		origin.NodeID, origin.URL, max((ttl+grace).Milliseconds(), 1), flag, grace.Milliseconds()).Int64()
	if err != nil {
		return fmt.Errorf("claim origin in redis: %w", err)
	}
	if left > 0 {
		return errOriginTaken(time.Duration(left) * time.Millisecond)
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
	res, err := lookupScript.Run(ctx, r.rdb, []string{r.key(streamID)}).Slice()
	if errors.Is(err, redis.Nil) {
		return Origin{}, false, nil
	}
	if err != nil {
		return Origin{}, false, fmt.Errorf("look up origin in redis: %w", err)
	}
	v, _ := res[0].(string)
	left, _ := res[1].(int64)
	fields := strings.Split(v, "\n")
	o := Origin{NodeID: fields[0]}
	if len(fields) > 1 {
		o.URL = fields[1]
	}
	var keep int64
	for _, f := range fields[min(2, len(fields)):] {
		if f == "grace" {
			o.Grace = true
		} else if ms, err := strconv.ParseInt(f, 10, 64); err == nil {
			keep = ms
		}
	}
	o.Lapsed = left >= 0 && left <= keep
	return o, true, nil
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
