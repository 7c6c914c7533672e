#!/usr/bin/env bash
# Start-up, health, bootstrap token, metrics, SIGTERM drain.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
ok "daemon starts"
is "$(stat -c %a "$FW_DATA/admin.token")" 600 "admin token file is mode 0600"
like "$ADMIN" '^fw_[0-9a-f]{40}$' "admin token has the documented form"
api "" GET /healthz; is "$STATUS" 200 "/healthz answers 200"
api "" GET /readyz; is "$(jf .store)" "$(fw_store_kind)" "/readyz names the store"
api "" GET /api/v1/incidents; is "$STATUS" 401 "no token: 401"
is "$(jf .error.code)" unauthorized "401 has the JSON error shape"
api "not-a-token" GET /api/v1/incidents; is "$STATUS" 401 "unknown token: 401"
api "$ADMIN" GET /api/v1/nothing-here; is "$STATUS" 404 "unknown endpoint: 404"
api "$ADMIN" DELETE /api/v1/incidents; is "$STATUS" 405 "wrong method: 405"
api "$ADMIN" GET /api/v1/whoami; is "$(jf .name)" admin "whoami is the bootstrap admin"
metrics=$(curl -s "$FW_URL/metrics")
like "$metrics" 'flywheel_http_requests_total\{route="/healthz",method="GET",status="200"\} [0-9]+' "metrics count requests by route and status"
like "$metrics" 'flywheel_http_request_duration_seconds_bucket' "metrics have a latency histogram"
grep -q '"msg":"request"' "$TEST_DIR/daemon.log"; check "one JSON log line per request" test $? -eq 0
fw_stop; is "$?" 0 "SIGTERM drains and exits 0"
fw_start; api "$ADMIN" GET /api/v1/whoami; is "$STATUS" 200 "restart keeps the admin token valid"
done_testing
