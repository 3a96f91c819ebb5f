-- ARGV: reservation id, buyer, qty. Codes: 1 adopted (extra: buyer, qty,
-- state, expires_ms), 0 unknown sale, -3 sold out, -8 known (confirm it).
local c = load_counts()
if not c then return {0} end
local id, b, q = ARGV[1], ARGV[2], tonumber(ARGV[3])
if id == '0' or redis.call('HEXISTS', KEYS[3], id) == 1 then return reply(-8, c) end
if q > c.rem then return reply(-3, c) end
sell(c, id, b, q)
save_counts(c)
return reply(1, c, {b, q, 's', 0})
