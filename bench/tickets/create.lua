-- wrk script: POST one incident per request over keep-alive connections.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("FW_TOKEN")
local n = 0
request = function()
  n = n + 1
  local impact = ({"high", "medium", "low"})[n % 3 + 1]
  return wrk.format(nil, "/api/v1/incidents",
    nil, '{"account":"111111111111","title":"bench incident ' .. n .. '","description":"load","impact":"' .. impact .. '","urgency":"medium"}')
end
