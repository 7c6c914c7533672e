#!/usr/bin/env bash
# Safety rails: rate limit, concurrency limit (per runbook and per resource), circuit breaker
# (opens after N consecutive failures, opens an incident, refuses auto-remediation, reset by an
# operator), global kill switch; every decision is in the audit log.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
mk_account 444444444444
rb() { api "$ADMIN" POST /api/v1/runbooks "$(jq -n --arg y "$1" '{yaml:$y}')"; [ "$STATUS" = 201 ] || echo "# runbook: $BODY"; }
st() { api "$ADMIN" GET "/api/v1/executions/$1"; jf .status; }
wait_status() { for _ in $(seq 100); do [ "$(st "$1")" = "$2" ] && return 0; sleep 0.05; done; return 1; }
audit_count() { api "$ADMIN" GET "/api/v1/audit?action=$1&limit=500"; jf '.items | length'; }

# --- rate limit ---
rb "$(printf 'name: limited\nrate_limit: {max: 2, window: 1h}\nsteps:\n  - {type: exec, command: ["true"]}\n')"
api "$ADMIN" POST /api/v1/runbooks/limited/executions '{}'; is "$STATUS" 201 "run 1 within the rate limit"
api "$ADMIN" POST /api/v1/runbooks/limited/executions '{}'; is "$STATUS" 201 "run 2 within the rate limit"
api "$ADMIN" POST /api/v1/runbooks/limited/executions '{}'; is "$STATUS" 429 "run 3 is refused: 429"
is "$(jf .error.code)" rate_limited "code rate_limited"
like "$(jf .error.message)" "rate limit is 2 per window" "the message names the limit"
is "$(audit_count rail.refused)" 1 "the refusal is audited"

# --- concurrency (per runbook) ---
rb "$(printf 'name: single\nconcurrency: 1\nsteps:\n  - {type: exec, command: [sleep, "2"]}\n')"
api "$ADMIN" POST /api/v1/runbooks/single/executions '{}'; is "$STATUS" 201 "first concurrent run starts"; C1=$(jf .id)
api "$ADMIN" POST /api/v1/runbooks/single/executions '{}'; is "$STATUS" 429 "second concurrent run: 429"
is "$(jf .error.code)" concurrency_limit "code concurrency_limit"
api "$ADMIN" POST "/api/v1/executions/$C1/cancel"; wait_status "$C1" cancelled
api "$ADMIN" POST /api/v1/runbooks/single/executions '{}'; is "$STATUS" 201 "after the first ends, a new run is allowed"
api "$ADMIN" POST "/api/v1/executions/$(jf .id)/cancel"

# --- per resource: one remediation at a time per resource (alarm triggers) ---
rb "$(cat <<'EOF'
name: fixer
concurrency: 10
circuit_breaker: {failures: 2}
inputs: [{name: fail, type: string, default: "no"}, {name: nap, type: string, default: "0.2"}]
triggers:
  - type: auto_remediation
    match: {alertname: Broken}
    resource_label: host
    inputs: {fail: "{{ alarm.labels.fail }}", nap: "{{ alarm.labels.nap }}"}
steps:
  - name: work
    type: exec
    command: [sh, -c, 'sleep "${2:-0.2}"; [ "$1" != yes ]', x, "{{ inputs.fail }}", "{{ inputs.nap }}"]
EOF
)"
alarm() { api "$ADMIN" POST /api/v1/automation/alarms "{\"account\":\"444444444444\",\"labels\":{\"alertname\":\"Broken\",\"host\":\"$1\",\"fail\":\"$2\",\"nap\":\"${3:-0.2}\"}}"; }
alarm h1 no 3; is "$(jf .outcome)" remediating "an alarm for h1 starts a remediation"; R1=$(jf .execution)
alarm h1 no; is "$(jf .outcome)" page "a second alarm for the same resource is refused: page instead"
like "$(jf .reason)" "already working on resource h1" "the reason names the resource"
alarm h2 no; is "$(jf .outcome)" remediating "another resource is not held up"
api "$ADMIN" POST "/api/v1/executions/$R1/cancel"; wait_status "$R1" cancelled

# --- circuit breaker ---
alarm h3 yes; F1=$(jf .execution); wait_status "$F1" failed
alarm h4 yes; F2=$(jf .execution); wait_status "$F2" failed
sleep 0.2
api "$ADMIN" GET /api/v1/automation/rails
is "$(jf '.breakers[] | select(.runbook=="fixer") | .open')" true "two consecutive failures open the breaker"
INC=$(jf '.breakers[] | select(.runbook=="fixer") | .incident')
like "$INC" '^INC-[0-9]+$' "an incident is opened when the breaker opens"
api "$ADMIN" GET "/api/v1/incidents/$INC"; like "$(jf .title)" "runbook fixer failed 2 times" "the incident says why"
alarm h5 no; is "$(jf .outcome)" page "with the breaker open, auto-remediation stops: the alarm pages"
like "$(jf .reason)" "circuit breaker" "the reason names the breaker"
is "$(audit_count rail.breaker_open)" 1 "opening the breaker is audited"
api "$ADMIN" POST /api/v1/runbooks/fixer/executions '{}'; is "$STATUS" 201 "a manual run is still possible while open"
OPR=$(user op4 444444444444 viewer)
api "$OPR" POST /api/v1/runbooks/fixer/breaker/reset; is "$STATUS" 403 "a viewer may not reset the breaker"
api "$ADMIN" POST /api/v1/runbooks/fixer/breaker/reset; is "$STATUS" 200 "an operator resets the breaker"
is "$(audit_count rail.breaker_reset)" 1 "the reset is audited"
api "$ADMIN" POST /api/v1/runbooks/fixer/breaker/reset; is "$STATUS" 409 "resetting a closed breaker: 409"
alarm h6 no; is "$(jf .outcome)" remediating "after the reset auto-remediation runs again"

# --- global kill switch ---
api "$OPR" PUT /api/v1/automation/kill-switch '{"enabled":true}'; is "$STATUS" 403 "only an admin flips the kill switch"
api "$ADMIN" PUT /api/v1/automation/kill-switch '{"enabled":true}'; is "$STATUS" 200 "kill switch on"
api "$ADMIN" POST /api/v1/runbooks/limited/executions '{}'
is "$STATUS" 423 "manual runs are refused: 423"; is "$(jf .error.code)" automation_disabled "code automation_disabled"
alarm h7 no; is "$(jf .outcome)" page "alarms page instead of remediating"
api "$ADMIN" PUT /api/v1/automation/kill-switch '{"enabled":false}'
alarm h8 no; is "$(jf .outcome)" remediating "kill switch off: automation resumes"
is "$(audit_count rail.kill_switch_on)" 1 "the kill switch is audited"
check "every execution has an audit entry" test "$(audit_count execution.create)" -ge 8
check "every finished execution has an audit entry" test "$(audit_count execution.finish)" -ge 5
done_testing
