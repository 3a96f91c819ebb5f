package room

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisLimits is the multi-node Limits: rate limits as one GCRA key each,
// mutes as keys expiring with the mute, bans as keys, slow mode as a
// per-stream setting plus one expiring key per account that spoke. Scripts
// read Redis's clock, so nodes with skewed clocks agree.
type RedisLimits struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ Limits = (*RedisLimits)(nil)

// NewRedisLimits returns limits on rdb with keys under prefix
// ("liveshop:" by default).
func NewRedisLimits(rdb redis.UniversalClient, prefix string) *RedisLimits {
	if prefix == "" {
		prefix = "liveshop:"
	}
	return &RedisLimits{rdb: rdb, prefix: prefix}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// allowScript: KEYS key; ARGV interval µs, window µs. Returns {ok, retry µs}.
// The theoretical arrival time is written with %.0f: tostring keeps 14
// digits, which rounds microseconds since 1970 to the millisecond and, when
// it rounds up, refused an allowed event that came within half a
// millisecond of the one before.
var allowScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + interval
if nxt - now > window then return {0, nxt - now - window} end
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.floor((nxt - now) / 1000) + 1)
return {1, 0}
`)

// Allow implements Limiter.
func (l *RedisLimits) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if limit <= 0 {
		return false, window, nil
	}
	w := window.Microseconds()
	res, err := allowScript.Run(ctx, l.rdb, []string{l.prefix + "rl:" + key}, w/int64(limit), w).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("rate limit %s: %w: %v", key, ErrUnavailable, err)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}

// Reset implements Limiter.
func (l *RedisLimits) Reset(ctx context.Context, key string) error {
	return unavailable("reset rate limit "+key, l.rdb.Del(ctx, l.prefix+"rl:"+key).Err())
}

func (l *RedisLimits) muteKey(shopID, accountID int64) string {
	return l.prefix + "mute:" + itoa(shopID) + ":" + itoa(accountID)
}

func (l *RedisLimits) banKey(shopID, accountID int64) string {
	return l.prefix + "ban:" + itoa(shopID) + ":" + itoa(accountID)
}

func (l *RedisLimits) slowKey(streamID int64) string { return l.prefix + "slow:" + itoa(streamID) }

func (l *RedisLimits) spokeKey(streamID, accountID int64) string {
	return l.prefix + "spoke:" + itoa(streamID) + ":" + itoa(accountID)
}

func unavailable(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w: %v", what, ErrUnavailable, err)
}

// SetMute implements Limits.
func (l *RedisLimits) SetMute(ctx context.Context, shopID, accountID int64, until time.Time) error {
	ttl := time.Until(until)
	if ttl <= 0 {
		return unavailable("unmute", l.rdb.Del(ctx, l.muteKey(shopID, accountID)).Err())
	}
	return unavailable("mute", l.rdb.Set(ctx, l.muteKey(shopID, accountID), until.UnixMilli(), ttl).Err())
}

// SetBan implements Limits.
func (l *RedisLimits) SetBan(ctx context.Context, shopID, accountID int64, banned bool) error {
	if !banned {
		return unavailable("unban", l.rdb.Del(ctx, l.banKey(shopID, accountID)).Err())
	}
	return unavailable("ban", l.rdb.Set(ctx, l.banKey(shopID, accountID), 1, 0).Err())
}

// Banned implements Limits.
func (l *RedisLimits) Banned(ctx context.Context, shopID, accountID int64) (bool, error) {
	n, err := l.rdb.Exists(ctx, l.banKey(shopID, accountID)).Result()
	return n == 1, unavailable("check ban", err)
}

// SetSlowMode implements Limits.
func (l *RedisLimits) SetSlowMode(ctx context.Context, streamID int64, gap time.Duration) error {
	if gap <= 0 {
		return unavailable("slow mode off", l.rdb.Del(ctx, l.slowKey(streamID)).Err())
	}
	return unavailable("slow mode", l.rdb.Set(ctx, l.slowKey(streamID), gap.Milliseconds(), 7*24*time.Hour).Err())
}

// checkScript: KEYS ban, mute, slow, spoke; ARGV exempt ("1"/"0").
// Returns {banned, muted until ms, slow wait ms}.
var checkScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return {1, 0, 0} end
local t = redis.call('TIME')
local nowms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local m = redis.call('GET', KEYS[2])
if m and tonumber(m) > nowms then return {0, tonumber(m), 0} end
if ARGV[1] == '0' then
	local gap = redis.call('GET', KEYS[3])
	if gap and tonumber(gap) > 0 then
		local ok = redis.call('SET', KEYS[4], '1', 'PX', gap, 'NX')
		if not ok then
			local left = redis.call('PTTL', KEYS[4])
			if left < 1 then left = 1 end
			return {0, 0, left}
		end
	end
end
return {0, 0, 0}
`)

// CheckComment implements Limits.
func (l *RedisLimits) CheckComment(ctx context.Context, shopID, streamID, accountID int64, exemptSlow bool) (Verdict, error) {
	exempt := "0"
	if exemptSlow {
		exempt = "1"
	}
	res, err := checkScript.Run(ctx, l.rdb, []string{
		l.banKey(shopID, accountID), l.muteKey(shopID, accountID), l.slowKey(streamID), l.spokeKey(streamID, accountID),
	}, exempt).Int64Slice()
	if err != nil {
		return Verdict{}, unavailable("check comment", err)
	}
	var v Verdict
	v.Banned = res[0] == 1
	if res[1] > 0 {
		v.MutedUntil = time.UnixMilli(res[1])
	}
	v.SlowWait = time.Duration(res[2]) * time.Millisecond
	return v, nil
}
