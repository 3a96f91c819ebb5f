-- Reservations of one sale, one or many per call, each checked and made in
-- order as if alone: stock and the buyer's limit together. ARGV: n, then per
-- item: buyer, quantity, ttl_ms, new reservation id. Reply: per item code,
-- q, rem, rsv, sold, ended, expires_ms. Codes: 1 reserved, 0 unknown sale,
-- -2 ended, -3 sold out, -4 buyer limit, -9 id taken (caller retries with
-- another).
local c = load_counts()
local n = tonumber(ARGV[1])
local out = {}
local function push(code, x)
  if c then
    out[#out + 1] = code; out[#out + 1] = c.q; out[#out + 1] = c.rem; out[#out + 1] = c.rsv
    out[#out + 1] = c.sold; out[#out + 1] = c.e
  else
    for _ = 1, 6 do out[#out + 1] = 0 end
  end
  out[#out + 1] = x or 0
end
local now = nil
local changed = false
for i = 0, n - 1 do
  local buyer, q, ttl, id = ARGV[2 + i * 4], tonumber(ARGV[3 + i * 4]), tonumber(ARGV[4 + i * 4]), ARGV[5 + i * 4]
  if not c then
    push(0)
  elseif c.e == 1 then
    push(-2)
  elseif q > c.rem then
    push(-3)
  else
    local held = tonumber(redis.call('HGET', KEYS[2], buyer) or '0')
    if held + q > c.l then
      push(-4)
    else
      now = now or now_ms()
      local x = now + ttl
      if redis.call('HSETNX', KEYS[3], id, record(buyer, q, 'h', x)) == 0 then
        push(-9)
      else
        redis.call('ZADD', KEYS[4], x, id)
        redis.call('HINCRBY', KEYS[2], buyer, q)
        c.rem = c.rem - q
        c.rsv = c.rsv + q
        changed = true
        push(1, x)
      end
    end
  end
end
if changed then save_counts(c) end
return out
