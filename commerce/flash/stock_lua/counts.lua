-- Code 1 (0: unknown sale).
local c = load_counts()
if not c then return {0} end
return reply(1, c)
