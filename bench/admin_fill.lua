-- wrk script of bench/admin_api.py: asks for each of N new URLs once, /o/100/0/e<i>?key=t<i % T>
-- (wrk ... -s admin_fill.lua URL -- N T), then for the first one again (hits) until the harness
-- stops wrk, once the origin has answered all N. One wrk thread (-t1): the counter is its own.

local n, tags = 100000, 10
local next_i = 0

function init(args)
  n = tonumber(args[1]) or n
  tags = tonumber(args[2]) or tags
end

function request()
  local i = next_i
  if i >= n then
    -- Every URL is out: until the last answers come, ask for one already stored (a hit).
    i = 0
  else
    next_i = next_i + 1
  end
  return wrk.format("GET", "/o/100/0/e" .. i .. "?key=t" .. (i % tags))
end
