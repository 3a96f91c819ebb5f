-- ARGV: reservation id. Codes: 1 found (extra: buyer, qty, state, expires_ms),
-- 0 unknown sale, -5 no such reservation. A lapsed hold shows as expired.
local c = load_counts()
if not c then return {0} end
local v = redis.call('HGET', KEYS[3], ARGV[1])
if not v or ARGV[1] == '0' then return reply(-5, c) end
local b, q, s, x = parse(v)
if s == 'h' and x <= now_ms() then s = 'e' end
return reply(1, c, {b, q, s, x})
