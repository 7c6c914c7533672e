-- wrk script: POSTs describe-cases with precomputed aws-cli-style SigV4 signatures, cycling through them.
local sigs = dofile(os.getenv("AWS_SIGS"))
local i = 0
wrk.method = "POST"
wrk.body = os.getenv("AWS_BODY")
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "AWSSupport_20130415.DescribeCases"
wrk.headers["Host"] = os.getenv("AWS_HOST")

request = function()
  i = i % #sigs + 1
  wrk.headers["X-Amz-Date"] = sigs[i].date
  wrk.headers["Authorization"] = sigs[i].auth
  return wrk.format()
end

local errors = 0
response = function(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
    if errors == 1 then io.stderr:write("non-200: " .. status .. " " .. body .. "\n") end
  end
end
