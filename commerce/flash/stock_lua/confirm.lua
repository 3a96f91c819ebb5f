-- ARGV: reservation id. Codes: 1 sold (extra: buyer, qty, state, expires_ms),
-- 0 unknown sale, -5 no such reservation, -6 lapsed, -7 released.
-- A lapsed hold keeps its units until expire.lua, which counts it.
local c = load_counts()
if not c then return {0} end
local id = ARGV[1]
local v = redis.call('HGET', KEYS[3], id)
if not v or id == '0' then return reply(-5, c) end
local b, q, s, x = parse(v)
if s == 'h' and x <= now_ms() then s = 'e' end
if s == 'e' then return reply(-6, c, {b, q, s, x}) end
if s == 'r' then return reply(-7, c, {b, q, s, x}) end
if s == 'h' then
  s = 's'
  redis.call('HSET', KEYS[3], id, record(b, q, s, x))
  redis.call('ZREM', KEYS[4], id)
  c.rsv = c.rsv - q
  c.sold = c.sold + q
  save_counts(c)
end
return reply(1, c, {b, q, s, x})
