#!/usr/bin/env bash
# SLA policies and clocks: validation, targets per priority, warnings and breaches on the timeline and
# as notifications, stop on acknowledge/resolve, pauses, holidays, restart rebuilding the timer heap,
# and the SLA KPIs. Time moves through the test clock (FLYWHEEL_TEST_CLOCK=1, POST /api/v1/test/clock)
# and, across a restart, FLYWHEEL_CLOCK_OFFSET_MS.
. "$(dirname "$0")/../lib.sh"
RECV="$FW_ROOT/tests/data/notify/webhook_receiver.py"
wait_until() { local t=$1; shift; for _ in $(seq 1 $((t * 10))); do "$@" && return 0; sleep 0.1; done; return 1; }
RPIDS=
trap 'kill $RPIDS 2>/dev/null; cleanup' EXIT
python3 "$RECV" "$TEST_DIR/r.port" "$TEST_DIR/r.log" k3y 0 & RPIDS=$!
wait_until 5 test -s "$TEST_DIR/r.port"
HOOK="http://127.0.0.1:$(cat "$TEST_DIR/r.port")/hook"
export FLYWHEEL_TEST_CLOCK=1
fw_start || { fail "daemon starts"; done_testing; exit 1; }
advance() { api "$ADMIN" POST /api/v1/test/clock "{\"advance\":\"$1\"}"; [ "$STATUS" = 200 ]; }
ACC=555555555555; mk_account $ACC
OPS=$(user oscar $ACC operator)

# --- invalid policies are refused with the field named
api "$ADMIN" POST /api/v1/sla-policies '{"name":"x","targets":{"P1":{"response":"15m"}},"calendar":{"timezone":"Mars/Olympus","24x7":true}}'
is "$STATUS/$(jf .error.code)" "422/unknown_time_zone" "bad time zone: 422 unknown_time_zone"
api "$ADMIN" POST /api/v1/sla-policies '{"name":"x","targets":{"P1":{"response":"15m"}},"calendar":{"timezone":"UTC","working_hours":[{"start":"09:00","end":"17:00"}],"holidays":["2024-12-24",{"start":"2024-12-23","end":"2024-12-26"}]}}'
is "$STATUS/$(jf .error.code)" "422/overlapping_holidays" "overlapping holidays: 422"
like "$(jf .error.message)" "calendar: holidays" "the message names the calendar field"
api "$ADMIN" POST /api/v1/sla-policies '{"name":"x","targets":{"P9":{"response":"15m"}}}'
is "$STATUS/$(jf .error.code)" "422/invalid_target" "unknown priority: 422"
api "$ADMIN" POST /api/v1/sla-policies '{"name":"x","targets":{"P1":{"response":"5h","resolution":"1h"}}}'
is "$STATUS" 422 "response longer than resolution: 422"
api "$ADMIN" POST /api/v1/sla-policies '{"name":"x","targets":{"P1":{"response":"1h"}},"pause_statuses":["closed"]}'
is "$STATUS" 422 "pausing in a final status: 422"
api "$ADMIN" POST /api/v1/sla-policies '{"name":"x","targets":{"P1":{"response":"1h"}},"warnings":[0.5,1.5]}'
is "$STATUS/$(jf .error.code)" "422/invalid_warnings" "warning fraction above 1: 422"
api "$OPS" POST /api/v1/sla-policies "{\"name\":\"x\",\"account\":\"$ACC\",\"targets\":{\"P1\":{\"response\":\"1h\"}}}"
is "$STATUS" 403 "an operator cannot define policies"

# --- a 24x7 policy for the business tier
api "$ADMIN" POST /api/v1/sla-policies '{"name":"Business 24x7","tier":"business","kinds":["incident"],"targets":{"P1":{"response":"30m","resolution":"4h"},"P3":{"response":"2h","resolution":"1d"}},"warnings":[0.5,0.75]}'
is "$STATUS" 201 "24x7 policy created"
POL=$(jf .id)
api "$ADMIN" POST /api/v1/channels "{\"name\":\"sla hook\",\"type\":\"webhook\",\"url\":\"$HOOK\",\"secret\":\"k3y\"}"
CH=$(jf .id)
api "$ADMIN" POST /api/v1/topics '{"name":"sla"}'
TOP=$(jf .id)
api "$ADMIN" POST "/api/v1/topics/$TOP/subscriptions" "{\"channel\":\"$CH\",\"filter\":{\"events\":[\"sla.*\"]}}"

api "$OPS" POST /api/v1/incidents "{\"account\":\"$ACC\",\"title\":\"payments down\",\"impact\":\"high\",\"urgency\":\"high\"}"
INC=$(jf .id)
is "$(jf .priority)" P1 "incident is P1"
api "$OPS" GET "/api/v1/tickets/$INC/sla"
is "$STATUS" 200 "GET /tickets/{id}/sla"
is "$(jf '[.clocks[] | "\(.kind):\(.target_seconds):\(.state)"] | sort | join(",")')" "resolution:14400:running,response:1800:running" "two running clocks with the P1 targets"
is "$(jf '.clocks[] | select(.kind == "response") | .warnings | length')" 2 "two warnings per clock"

advance 16m
has_tl() { api "$OPS" GET "/api/v1/incidents/$INC/timeline"; [ "$(jf "[.items[] | select(.type == \"$1\" and .body.clock == \"$2\")] | length")" -ge "${3:-1}" ]; }
check "at 53% the response clock warns on the timeline" wait_until 10 has_tl sla.warning response
is "$(jf '[.items[] | select(.type == "sla.warning")][0].visibility')" internal "SLA events are internal timeline entries"
api "$OPS" GET "/api/v1/tickets/$INC/sla"
is "$(jf '.clocks[] | select(.kind == "response") | [.warnings[].fired] | map(tostring) | join(",")')" "true,false" "first warning fired, second not yet"
advance 8m
check "at 80% the second warning" wait_until 10 has_tl sla.warning response 2
advance 7m
check "past 30 minutes the response clock breaches" wait_until 10 has_tl sla.breached response
api "$OPS" GET "/api/v1/tickets/$INC/sla"
is "$(jf '.clocks[] | select(.kind == "response") | .state')" breached "response clock shows breached"
check "remaining time is negative once overdue" test "$(jf '.clocks[] | select(.kind == "response") | .remaining_seconds')" -lt 0
check "the breach is delivered to the sla.* subscriber" wait_until 10 bash -c "grep -q '\"sla.breached\"' '$TEST_DIR/r.log'"
is "$(jq -rs '[.[] | select(.event == "sla.breached")][0].body.data.ticket' "$TEST_DIR/r.log")" "$INC" "with the ticket id"

api "$OPS" PATCH "/api/v1/incidents/$INC" '{"status":"acknowledged"}'
api "$OPS" GET "/api/v1/tickets/$INC/sla"
is "$(jf '.clocks[] | select(.kind == "response") | .stopped_at != null')" true "acknowledging stops the response clock"
is "$(jf '.clocks[] | select(.kind == "resolution") | .state')" running "the resolution clock keeps running"
advance 30m
api "$OPS" PATCH "/api/v1/incidents/$INC" '{"status":"resolved","resolution":"restarted"}'
api "$OPS" GET "/api/v1/tickets/$INC/sla"
is "$(jf '.clocks[] | select(.kind == "resolution") | .state')" met "resolved within 4h: met"
e=$(jf '.clocks[] | select(.kind == "resolution") | .elapsed_seconds')
check "elapsed business time is about 61 minutes (got $e s)" test "$e" -ge 3600 -a "$e" -le 3800

# --- priority change retargets; P3 targets apply
api "$OPS" POST /api/v1/incidents "{\"account\":\"$ACC\",\"title\":\"slow page\",\"impact\":\"low\",\"urgency\":\"medium\"}"
INC2=$(jf .id)
api "$OPS" GET "/api/v1/tickets/$INC2/sla"
echo "# $(jf -c .clocks)"
api "$OPS" PATCH "/api/v1/incidents/$INC2" '{"impact":"high","urgency":"high"}'
api "$OPS" GET "/api/v1/tickets/$INC2/sla"
is "$(jf '.clocks[] | select(.kind == "response") | .target_seconds')" 1800 "raising the priority to P1 retargets the clock"

# --- pauses: a request policy that pauses while the request waits in 'approved'
api "$ADMIN" POST /api/v1/sla-policies "{\"name\":\"requests\",\"account\":\"$ACC\",\"kinds\":[\"request\"],\"targets\":{\"P3\":{\"response\":\"8h\",\"resolution\":\"3d\"},\"P4\":{\"response\":\"8h\",\"resolution\":\"5d\"}},\"pause_statuses\":[\"approved\"]}"
is "$STATUS" 201 "request policy created"
api "$OPS" POST /api/v1/requests "{\"account\":\"$ACC\",\"title\":\"new vpn user\"}"
SR=$(jf .id)
api "$ADMIN" PATCH "/api/v1/requests/$SR" '{"status":"approved"}'
is "$STATUS" 200 "request approved (waits for the customer)"
advance 2h
api "$OPS" GET "/api/v1/tickets/$SR/sla"
is "$(jf '.clocks[] | select(.kind == "resolution") | .state')" paused "the resolution clock is paused"
p=$(jf '.clocks[] | select(.kind == "resolution") | .paused_seconds')
check "two hours counted as paused (got $p s)" test "$p" -ge 7190
check "and not as elapsed" test "$(jf '.clocks[] | select(.kind == "resolution") | .elapsed_seconds')" -lt 60
is "$(jf '.clocks[] | select(.kind == "resolution") | .due')" null "a paused clock has no due date"
api "$OPS" PATCH "/api/v1/requests/$SR" '{"status":"in_progress"}'
api "$OPS" GET "/api/v1/tickets/$SR/sla"
is "$(jf '.clocks[] | select(.kind == "resolution") | .state')" running "resumed when work starts"

# --- a holiday calendar: no business time passes on a holiday
today=$(date -u -d "@$(( $(date +%s) + $(api "$ADMIN" POST /api/v1/test/clock '{"advance":"0s"}'; jf .offset_ms) / 1000 ))" +%F)
tomorrow=$(date -u -d "$today + 1 day" +%F)
ACC2=666666666666; mk_account $ACC2
api "$ADMIN" POST /api/v1/sla-policies "{\"name\":\"holiday\",\"account\":\"$ACC2\",\"targets\":{\"P4\":{\"response\":\"1h\"}},\"calendar\":{\"timezone\":\"UTC\",\"working_days\":[\"sun\",\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\"],\"working_hours\":[{\"start\":\"00:00\",\"end\":\"24:00\"}],\"holidays\":[{\"start\":\"$today\",\"end\":\"$tomorrow\",\"name\":\"test\"}]}}"
is "$STATUS" 201 "holiday calendar policy created"
api "$ADMIN" POST /api/v1/incidents "{\"account\":\"$ACC2\",\"title\":\"on a holiday\",\"impact\":\"low\",\"urgency\":\"medium\"}"
INC3=$(jf .id)
advance 3h
api "$ADMIN" GET "/api/v1/tickets/$INC3/sla"
is "$(jf '.clocks[0].elapsed_seconds')" 0 "three hours on a holiday: no business time elapsed"
like "$(jf ".clocks[0].due")" "^$(date -u -d "$today + 2 days" +%F)T01:00:00" "due one hour into the first working day"

# --- restart: the timer heap is rebuilt from the store and fires the breach
api "$OPS" POST /api/v1/incidents "{\"account\":\"$ACC\",\"title\":\"restart me\",\"impact\":\"high\",\"urgency\":\"high\"}"
INC4=$(jf .id)
api "$ADMIN" POST /api/v1/test/clock '{"advance":"0s"}'
OFF=$(jf .offset_ms)
fw_kill9
FLYWHEEL_CLOCK_OFFSET_MS=$((OFF + 45 * 60 * 1000)) fw_start
INC=$INC4
check "after kill -9 and a restart 45 minutes later the breach fires" wait_until 10 has_tl sla.breached response
grep -q 'scheduler armed [1-9][0-9]* timers' "$TEST_DIR/daemon.log"; check "the scheduler rebuilt its heap from the store" test $? -eq 0

# --- KPIs
api "$ADMIN" GET "/api/v1/kpis/sla?account=$ACC"
is "$STATUS" 200 "GET /kpis/sla"
is "$(jf .overall.tickets)" 4 "four tickets in the account"
check "at least two breaches counted" test "$(jf .overall.breaches)" -ge 2
is "$(jf '.overall.mtta_seconds != null and .overall.mttr_seconds != null')" true "MTTA and MTTR computed"
check "compliance is a percentage" test "$(jf '.overall.sla_met_pct | floor')" -ge 0
is "$(jf ".by_severity.critical.tickets")" 3 "by severity: three critical (one raised to P1)"
is "$(jf '.by_month | keys | length')" 1 "by month"
is "$(jf ".by_account[\"$ACC\"].tickets")" 4 "by account"
api "$OPS" GET /api/v1/kpis/sla
is "$(jf ".by_account | has(\"$ACC2\")")" false "an operator's KPIs leave out accounts they cannot see"

# --- OLA: the assignment group's own targets, ended by a reassignment
api "$ADMIN" POST /api/v1/sla-policies "{\"name\":\"dba ola\",\"type\":\"ola\",\"group\":\"dba\",\"account\":\"$ACC2\",\"targets\":{\"P4\":{\"response\":\"10m\",\"resolution\":\"2h\"}}}"
is "$STATUS" 201 "OLA policy for group dba"
api "$ADMIN" POST /api/v1/incidents "{\"account\":\"$ACC2\",\"title\":\"ola\",\"impact\":\"low\",\"urgency\":\"medium\",\"group\":\"dba\"}"
I=$(jf .id)
api "$ADMIN" GET "/api/v1/tickets/$I/sla"
is "$(jf '[.clocks[] | select(.type == "ola") | "\(.group):\(.kind):\(.target_seconds)"] | sort | join(",")')" "dba:resolution:7200,dba:response:600" "OLA clocks for the dba group"
is "$(jf '[.clocks[] | select(.type == "sla")] | length')" 1 "next to the SLA clock"
api "$ADMIN" PATCH "/api/v1/incidents/$I" '{"group":"net"}'
api "$ADMIN" GET "/api/v1/tickets/$I/sla"
is "$(jf '[.clocks[] | select(.type == "ola") | .stopped_at != null] | all')" true "reassigned: the dba OLA clocks stop"
done_testing
