-- Stops new reservations. Code 1 (0: unknown sale).
local c = load_counts()
if not c then return {0} end
redis.call('HSET', KEYS[1], 'e', 1)
c.e = 1
return reply(1, c)
