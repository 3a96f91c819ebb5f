-- ARGV: buyer, quantity, ttl_ms, new reservation id.
-- Codes: 1 reserved (extra: expires_ms), 0 unknown sale, -2 ended,
-- -3 sold out, -4 buyer limit, -9 id taken (caller retries with another).
local c = load_counts()
if not c then return {0} end
local buyer, q = ARGV[1], tonumber(ARGV[2])
if c.e == 1 then return reply(-2, c) end
if q > c.rem then return reply(-3, c) end
local held = tonumber(redis.call('HGET', KEYS[2], buyer) or '0')
if held + q > c.l then return reply(-4, c) end
local x = now_ms() + tonumber(ARGV[3])
if redis.call('HSETNX', KEYS[3], ARGV[4], record(buyer, q, 'h', x)) == 0 then return reply(-9, c) end
redis.call('ZADD', KEYS[4], x, ARGV[4])
redis.call('HINCRBY', KEYS[2], buyer, q)
c.rem = c.rem - q
c.rsv = c.rsv + q
save_counts(c)
return reply(1, c, {x})
