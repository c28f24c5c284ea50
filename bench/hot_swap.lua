-- wrk script of bench/hot_swap.py: counts, over every thread, the responses that are not 2xx
-- and the value of the module's header on each response (X-Stavka-Module: one value per
-- module version; "none" when the header is missing, which would mean a request ran without
-- the module). Printed at the end as one line the harness parses:
--   hot_swap: responses=N non2xx=N none=N value:<v>=N ...
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  responses, non2xx, values = 0, 0, {}
end

function response(status, headers, body)
  responses = responses + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
  local v = headers["x-stavka-module"] or headers["X-Stavka-Module"] or "none"
  values[v] = (values[v] or 0) + 1
end

function done(summary, latency, requests)
  local total, bad, merged = 0, 0, {}
  for _, t in ipairs(threads) do
    total = total + t:get("responses")
    bad = bad + t:get("non2xx")
    for k, n in pairs(t:get("values")) do
      merged[k] = (merged[k] or 0) + n
    end
  end
  local line = string.format("hot_swap: responses=%d non2xx=%d none=%d", total, bad,
                             merged["none"] or 0)
  for k, n in pairs(merged) do
    if k ~= "none" then
      line = line .. string.format(" value:%s=%d", k, n)
    end
  end
  io.write(line .. "\n")
end
