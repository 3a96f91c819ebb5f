-- ARGV: reservation id. Codes: 1 released now, 2 already final (no change),
-- 0 unknown sale, -5 no such reservation. Extra: buyer, qty, state, expires_ms.
local c = load_counts()
if not c then return {0} end
local id = ARGV[1]
local v = redis.call('HGET', KEYS[3], id)
if not v or id == '0' then return reply(-5, c) end
local b, q, s, x = parse(v)
if s ~= 'h' and s ~= 's' then return reply(2, c, {b, q, s, x}) end
give_back(c, id, b, q, s, x, 'r')
save_counts(c)
return reply(1, c, {b, q, 'r', x})
