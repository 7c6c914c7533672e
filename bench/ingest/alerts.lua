-- wrk script: POST /api/v2/alerts the way Prometheus does (PROTOCOLS.md 1.8).
-- Environment: BATCH (alerts per request, 64 like Prometheus; 1 for single-alert requests),
-- SETS (distinct label sets cycled through), AUTH (Authorization header value or empty),
-- SHOW_ERRORS=1 to print
-- the first bodies of non-200 answers (wrk then reads every answer into Lua, which costs CPU the
-- server under test would otherwise get; wrk counts non-2xx answers either way).
--
-- The cycled requests are formatted once in init(): building 64 alerts with string.format for each
-- request made wrk itself use a fifth of the two cores during the batch runs, and that CPU came out of
-- what the server being measured could use.
local batch = tonumber(os.getenv("BATCH") or "64")
local sets = tonumber(os.getenv("SETS") or "10000")
local auth = os.getenv("AUTH") or ""
local starts = os.getenv("STARTS") or "2026-01-01T00:00:00.000Z"
local ends = os.getenv("ENDS") or "2099-01-01T00:00:00.000Z"
local counter = 0
local cycle = nil

local nthreads = tonumber(os.getenv("THREADS") or "2")

local ids = 0
function setup(thread)
  thread:set("thread_id", ids)
  ids = ids + 1
end

local function alert(i)
  return string.format('{"labels":{"alertname":"Bench%d","instance":"host-%d:9100","job":"node","severity":"warning","cluster":"c%d"},' ..
    '"annotations":{"summary":"bench alert %d"},"startsAt":"%s","endsAt":"%s","generatorURL":"http://prom:9090/graph?g0.expr=up"}',
    i % 50, i, i % 20, i, starts, ends)
end

local function body(c)
  local parts = {}
  for k = 1, batch do
    parts[k] = alert((c * batch + k - 1) % sets)
  end
  return "[" .. table.concat(parts, ",") .. "]"
end

local function gcd(a, b)
  while b ~= 0 do a, b = b, a % b end
  return a
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if auth ~= "" then wrk.headers["Authorization"] = auth end
  counter = thread_id or 0
  -- This thread sends counters thread_id, thread_id + nthreads, …: the bodies repeat after
  -- sets / gcd(sets, batch * nthreads) requests.
  local period = math.floor(sets / gcd(sets, batch * nthreads))
  if period > 20000 then return end
  cycle = {}
  for j = 1, period do
    cycle[j] = wrk.format(nil, "/api/v2/alerts", nil, body(counter + (j - 1) * nthreads))
  end
end

local sent = 0
function request()
  if cycle then
    sent = sent + 1
    return cycle[(sent - 1) % #cycle + 1]
  end
  local b = body(counter)
  counter = counter + nthreads
  return wrk.format(nil, "/api/v2/alerts", nil, b)
end

if os.getenv("SHOW_ERRORS") == "1" then
  local bad = 0
  function response(status, headers, body)
    if status ~= 200 then
      bad = bad + 1
      if bad < 3 then io.stderr:write("status " .. status .. ": " .. body .. "\n") end
    end
  end
end
