-- ARGV: max. Expires up to max lapsed holds. Code 1 (0: unknown sale);
-- extra: id, buyer, qty, expires_ms for each expired reservation.
local c = load_counts()
if not c then return {0} end
local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for _, id in ipairs(due) do
  local v = redis.call('HGET', KEYS[3], id)
  if v then
    local b, q, s, x = parse(v)
    if s == 'h' then
      give_back(c, id, b, q, s, x, 'e')
      out[#out + 1] = id
      out[#out + 1] = b
      out[#out + 1] = q
      out[#out + 1] = x
    else
      redis.call('ZREM', KEYS[4], id)
    end
  else
    redis.call('ZREM', KEYS[4], id)
  end
end
if #out > 0 then save_counts(c) end
return reply(1, c, out)
