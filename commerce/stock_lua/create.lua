-- ARGV: quantity, limit, sold, keep_until_ms (0: keep), then buyer, units pairs.
-- Returns 1 when created, 0 when the sale existed (left untouched).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local q, sold = tonumber(ARGV[1]), tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'q', q, 'l', ARGV[2], 'rem', q - sold, 'rsv', 0, 'sold', sold, 'e', 0)
redis.call('HSET', KEYS[2], '0', 0)
for i = 5, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[3], '0', 'sentinel')
redis.call('ZADD', KEYS[4], '+inf', '0')
local keep = tonumber(ARGV[4])
if keep > 0 then
  for i = 1, 4 do redis.call('PEXPIREAT', KEYS[i], keep) end
end
return 1
