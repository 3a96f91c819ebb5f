-- Shared prelude of every stock script. One sale's keys share the hash tag
-- {sale:ID}, so a script touches one Redis Cluster slot:
--   KEYS[1] m  hash: q quantity, l per-buyer limit, rem, rsv, sold, e ended (0/1)
--   KEYS[2] b  hash: buyer -> units held or sold (sentinel field "0")
--   KEYS[3] r  hash: reservation id -> "buyer:qty:state:expires_ms" (sentinel "0")
--   KEYS[4] x  sorted set: held reservation ids by expiry in ms (sentinel "0" at +inf)
-- States: h held, s sold, r released, e expired. Time is Redis's own clock,
-- so nodes with skewed clocks agree on lapses.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function load_counts()
  local v = redis.call('HMGET', KEYS[1], 'q', 'rem', 'rsv', 'sold', 'e', 'l')
  if not v[1] then return nil end
  return {q = tonumber(v[1]), rem = tonumber(v[2]), rsv = tonumber(v[3]), sold = tonumber(v[4]),
    e = tonumber(v[5]), l = tonumber(v[6])}
end

local function save_counts(c)
  redis.call('HSET', KEYS[1], 'rem', c.rem, 'rsv', c.rsv, 'sold', c.sold)
end

-- reply: {code, q, rem, rsv, sold, ended, extra...}
local function reply(code, c, extra)
  local out = {code, c.q, c.rem, c.rsv, c.sold, c.e}
  if extra then
    for _, v in ipairs(extra) do out[#out + 1] = v end
  end
  return out
end

local function parse(v)
  local b, q, s, x = string.match(v, '^(%d+):(%d+):(%a):(%d+)$')
  return b, tonumber(q), s, tonumber(x)
end

local function record(b, q, s, x)
  return string.format('%s:%d:%s:%d', b, q, s, x)
end

-- give_back returns a held or sold reservation's units and moves it to state.
local function give_back(c, id, b, q, s, x, state)
  if s == 'h' then
    c.rsv = c.rsv - q
    redis.call('ZREM', KEYS[4], id)
  else
    c.sold = c.sold - q
  end
  c.rem = c.rem + q
  if redis.call('HINCRBY', KEYS[2], b, -q) <= 0 then
    redis.call('HDEL', KEYS[2], b)
  end
  redis.call('HSET', KEYS[3], id, record(b, q, state, x))
end

-- sell records reservation id as sold, taking its units from those on offer.
local function sell(c, id, b, q)
  c.rem = c.rem - q
  c.sold = c.sold + q
  redis.call('HINCRBY', KEYS[2], b, q)
  redis.call('HSET', KEYS[3], id, record(b, q, 's', 0))
end
