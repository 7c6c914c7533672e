-- wrk script: POST one incident per request over keep-alive connections.
--
-- The requests are formatted once in init() and cycled, as bench/ingest/alerts.lua does: building
-- each request in Lua took CPU from the server under test on the same two cores. Titles repeat every
-- 999 requests; every request still creates a new incident (nothing deduplicates titles).
local cycle = {}
local sent = 0

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("FW_TOKEN")
  local impacts = {"high", "medium", "low"}
  for n = 1, 999 do
    cycle[n] = wrk.format(nil, "/api/v1/incidents", nil,
      '{"account":"111111111111","title":"bench incident ' .. n .. '","description":"load","impact":"' ..
      impacts[n % 3 + 1] .. '","urgency":"medium"}')
  end
end

function request()
  sent = sent % #cycle + 1
  return cycle[sent]
end
