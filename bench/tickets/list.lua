-- wrk script: filtered ticket lists (status + priority, first page of 50), as a console would ask.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("FW_TOKEN")
local paths = {
  "/api/v1/incidents?status=new&priority=P2&limit=50",
  "/api/v1/incidents?account=111111111111&status=new&limit=50",
  "/api/v1/incidents?priority=P4&limit=50",
  "/api/v1/incidents?status=new&limit=50",
}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[i % #paths + 1])
end
