package room

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisPresence keeps one hash per room, field = node id, value =
// "count:expiry-ms"; a Lua script stores a report, drops stale fields, sums
// the rest and names the announcer in one round trip.
type RedisPresence struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ Presence = (*RedisPresence)(nil)

// NewRedisPresence returns presence on rdb with keys under prefix
// ("liveshop:" by default).
func NewRedisPresence(rdb redis.UniversalClient, prefix string) *RedisPresence {
	if prefix == "" {
		prefix = "liveshop:"
	}
	return &RedisPresence{rdb: rdb, prefix: prefix}
}

func (p *RedisPresence) key(room int64) string { return p.prefix + "presence:" + itoa(room) }

// reportScript: KEYS hash; ARGV node, count, ttl ms. Returns {total, announcer}.
var reportScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. (now + ttl))
local all = redis.call('HGETALL', KEYS[1])
local total, leader = 0, nil
for i = 1, #all, 2 do
	local c, exp = string.match(all[i + 1], '^(%d+):(%d+)$')
	if c == nil or tonumber(exp) < now then
		redis.call('HDEL', KEYS[1], all[i])
	else
		total = total + tonumber(c)
		if leader == nil or all[i] < leader then leader = all[i] end
	end
end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
if leader == ARGV[1] then return {total, 1} end
return {total, 0}
`)

// Report implements Presence.
func (p *RedisPresence) Report(ctx context.Context, room int64, node string, count int, ttl time.Duration) (int, bool, error) {
	res, err := reportScript.Run(ctx, p.rdb, []string{p.key(room)}, node, count, ttl.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, false, unavailable("report viewers", err)
	}
	return int(res[0]), res[1] == 1, nil
}

// Leave implements Presence.
func (p *RedisPresence) Leave(ctx context.Context, room int64, node string) error {
	return unavailable("leave presence", p.rdb.HDel(ctx, p.key(room), node).Err())
}
