-- wrk script: loads SETS distinct alerts once, in batches of BATCH, into flywheel (bench/ingest/run).
local batch = tonumber(os.getenv("BATCH") or "64")
local sets = tonumber(os.getenv("SETS") or "1000000")
local auth = os.getenv("AUTH") or ""
local acct = os.getenv("ALERT_ACCOUNT") or ""
local nthreads = tonumber(os.getenv("THREADS") or "2")
local ids = 0
function setup(thread)
  thread:set("tid", ids)
  ids = ids + 1
end
local counter
function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = auth
  counter = tid
end
function request()
  local parts = {}
  local base = counter * batch
  if base >= sets then
    wrk.thread:stop()
    base = 0
  end
  for k = 1, batch do
    local i = base + k - 1
    parts[k] = string.format('{"labels":{"alertname":"Load%d","instance":"host-%d:9100","job":"node","account":"%s"},"annotations":{"summary":"load %d"},"startsAt":"2026-01-01T00:00:00.000Z","endsAt":"2099-01-01T00:00:00.000Z"}', i % 100, i, acct, i)
  end
  counter = counter + nthreads
  return wrk.format(nil, "/api/v2/alerts", nil, "[" .. table.concat(parts, ",") .. "]")
end
