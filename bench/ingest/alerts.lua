-- wrk script: POST /api/v2/alerts the way Prometheus does (PROTOCOLS.md 1.8).
-- Environment: BATCH (alerts per request, 64 like Prometheus; 1 for single-alert requests),
-- SETS (distinct label sets cycled through), AUTH (Authorization header value or empty),
-- ONCE=1 to send each label set once and then stop (used to load alarms).
local batch = tonumber(os.getenv("BATCH") or "64")
local sets = tonumber(os.getenv("SETS") or "10000")
local auth = os.getenv("AUTH") or ""
local once = os.getenv("ONCE") == "1"
local starts = os.getenv("STARTS") or "2026-01-01T00:00:00.000Z"
local ends = os.getenv("ENDS") or "2099-01-01T00:00:00.000Z"
local counter = 0

local nthreads = tonumber(os.getenv("THREADS") or "2")

local ids = 0
function setup(thread)
  thread:set("thread_id", ids)
  ids = ids + 1
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if auth ~= "" then wrk.headers["Authorization"] = auth end
  counter = thread_id or 0
end

local function alert(i)
  return string.format('{"labels":{"alertname":"Bench%d","instance":"host-%d:9100","job":"node","severity":"warning","cluster":"c%d"},' ..
    '"annotations":{"summary":"bench alert %d"},"startsAt":"%s","endsAt":"%s","generatorURL":"http://prom:9090/graph?g0.expr=up"}',
    i % 50, i, i % 20, i, starts, ends)
end

function request()
  local parts = {}
  for k = 1, batch do
    local i
    if once then
      i = counter * batch + k - 1
    else
      i = ((counter * batch + k - 1) % sets)
    end
    parts[k] = alert(i)
  end
  counter = counter + nthreads
  if once and (counter - nthreads) * batch >= sets then
    wrk.thread:stop()
  end
  return wrk.format(nil, "/api/v2/alerts", nil, "[" .. table.concat(parts, ",") .. "]")
end

local bad = 0
function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    if bad < 3 then io.stderr:write("status " .. status .. ": " .. body .. "\n") end
  end
end
