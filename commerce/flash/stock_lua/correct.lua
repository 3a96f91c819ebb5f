-- ARGV: sold, as SQL knows it. Code 1 (0: unknown sale).
local c = load_counts()
if not c then return {0} end
c.sold = tonumber(ARGV[1])
c.rem = math.max(0, c.q - c.rsv - c.sold)
save_counts(c)
return reply(1, c)
