-- ARGV: quantity, limit, keep_until_ms (0: keep), then id, buyer, qty
-- triples of the reservations SQL holds as sold (a restore).
-- Returns 1 when created, 0 when the sale existed (left untouched).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local c = {q = tonumber(ARGV[1]), rem = tonumber(ARGV[1]), rsv = 0, sold = 0}
redis.call('HSET', KEYS[1], 'q', c.q, 'l', ARGV[2], 'e', 0)
redis.call('HSET', KEYS[2], '0', 0)
redis.call('HSET', KEYS[3], '0', 'sentinel')
redis.call('ZADD', KEYS[4], '+inf', '0')
for i = 4, #ARGV, 3 do
  sell(c, ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]))
end
save_counts(c)
local keep = tonumber(ARGV[3])
if keep > 0 then
  for i = 1, 4 do redis.call('PEXPIREAT', KEYS[i], keep) end
end
return 1
