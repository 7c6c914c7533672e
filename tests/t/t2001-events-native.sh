#!/usr/bin/env bash
# Native ingestion: dedup into alarms, grouping into one incident, resolution, durability across
# restart and kill -9, validation and account rights.
. "$(dirname "$0")/../lib.sh"
fw_start || exit 1
A=210000000001; B=210000000002
mk_account $A; mk_account $B
OPS=$(user ops $A operator); VIEW=$(user viewer $A viewer); OTHER=$(user other $B operator)

ev() { api "$1" POST /api/v1/events "$2"; }

ev "$OPS" '{"name":"HighCPU","resource":"web1","severity":"high","summary":"cpu hot","labels":{"cluster":"eu1"}}'
is "$STATUS" 202 "event accepted"
is "$(jf '.items[0].status')" firing "alarm firing"
INC=$(jf '.items[0].incident'); like "$INC" '^INC-[0-9]+$' "incident opened"
FP1=$(jf '.items[0].fingerprint'); like "$FP1" '^[0-9a-f]{16}$' "fingerprint is 16 hex digits"
is "$(jf '.items[0].account')" $A "account comes from the token"

# Repeats refresh the alarm and create nothing new.
for i in 1 2 3; do ev "$OPS" '{"name":"HighCPU","resource":"web1","severity":"high","summary":"cpu hot","labels":{"cluster":"eu1"}}'; done
is "$(jf '.items[0].incident')" "$INC" "repeat keeps the incident"
api "$OPS" GET "/api/v1/alarms"
is "$(jf '.items|length')" 1 "one alarm after repeats"
is "$(jf '.items[0].count')" 4 "repeat count"

# A burst of related alarms (same alertname) joins the same incident.
ev "$OPS" '[{"name":"HighCPU","resource":"web2","severity":"high"},{"name":"HighCPU","resource":"web3","severity":"high"}]'
is "$(jf '[.items[].incident]|unique|.[0]')" "$INC" "burst joins the incident"
api "$OPS" GET "/api/v1/incidents?limit=50"
is "$(jf '[.items[]|select(.source=="monitoring")]|length')" 1 "exactly one monitoring incident"
api "$OPS" GET "/api/v1/incidents/$INC"
is "$(jf .priority)" P2 "priority from severity high"
is "$(jf .status)" new "incident is new"

# Another alertname makes another incident.
ev "$OPS" '{"name":"DiskFull","resource":"db1","severity":"critical"}'
INC2=$(jf '.items[0].incident')
check "different group, different incident" test "$INC2" != "$INC"
api "$OPS" GET "/api/v1/incidents/$INC2"; is "$(jf .priority)" P1 "critical is P1"

# Durability: kill -9 and restart; alarms, incident links and counts survive.
fw_kill9; fw_start || exit 1
api "$OPS" GET "/api/v1/alarms"
is "$(jf '.items|length')" 4 "4 firing alarms after kill -9"
is "$(jf "[.items[]|select(.fingerprint==\"$FP1\")][0].incident")" "$INC" "alarm keeps its incident"
ev "$OPS" '{"name":"HighCPU","resource":"web4","severity":"high"}'
is "$(jf '.items[0].incident')" "$INC" "group survives restart"

# Resolution: when every alarm of the group resolves, the incident resolves.
ev "$OPS" '[{"name":"HighCPU","resource":"web1","labels":{"cluster":"eu1"},"status":"resolved"},{"name":"HighCPU","resource":"web2","status":"resolved"},{"name":"HighCPU","resource":"web3","status":"resolved"}]'
api "$OPS" GET "/api/v1/incidents/$INC"; is "$(jf .status)" new "incident open while one alarm fires"
ev "$OPS" '{"name":"HighCPU","resource":"web4","status":"resolved"}'
is "$(jf '.items[0].status')" resolved "alarm resolved"
api "$OPS" GET "/api/v1/incidents/$INC"; is "$(jf .status)" resolved "incident resolved with its group"
api "$OPS" GET "/api/v1/incidents/$INC/timeline"
is "$(jf '[.items[]|select(.type=="alarm" and .body.event=="resolved")]|length')" 4 "alarm history on the timeline"
api "$OPS" GET "/api/v1/alarms?status=resolved"
is "$(jf '.items|length')" 4 "resolved alarms listed"
api "$OPS" GET "/api/v1/alarms/$FP1"
is "$(jf .status)" resolved "single alarm by fingerprint"
is "$(jf .fingerprint)" "$FP1" "the alarm asked for"
api "$VIEW" GET "/api/v1/alarms/$FP1"; is "$STATUS" 200 "a viewer of the account sees it"
api "$OTHER" GET "/api/v1/alarms/$FP1"; is "$STATUS" 404 "another account's alarm is not found"
api "$OPS" GET "/api/v1/alarms/$FP1?account=$B"; is "$STATUS" 404 "not found when another account is asked for"
api "$OPS" GET "/api/v1/alarms/0123456789abcdef"; is "$STATUS" 404 "an unknown fingerprint is not found"

# Within the group window a new alarm reopens the resolved incident.
ev "$OPS" '{"name":"HighCPU","resource":"web9","severity":"high"}'
is "$(jf '.items[0].incident')" "$INC" "reopened within the group window"
api "$OPS" GET "/api/v1/incidents/$INC"; is "$(jf .status)" investigating "incident reopened"
fw_stop; fw_start || exit 1
api "$OPS" GET "/api/v1/alarms/$FP1"; is "$(jf .status)" resolved "resolved state survives restart"

# Bad input: nothing partial is stored.
ev "$OPS" '[{"name":"Good","resource":"x"},{"labels":{"1bad":"v"}}]'
is "$STATUS" 400 "invalid label name rejected"
like "$(jf .error.message)" 'event 1: invalid label set: invalid name' "message names the event and label"
api "$OPS" GET "/api/v1/alarms?filter=alertname%3D%22Good%22"; is "$(jf '.items|length')" 0 "nothing partial stored"
ev "$OPS" '{"labels":{}}'; is "$STATUS" 400 "empty label set rejected"
ev "$OPS" '{"name":"X","status":"bogus"}'; is "$STATUS" 422 "unknown status rejected"
ev "$OPS" '{"name":"X","starts_at":"2026-01-02T00:00:00Z","ends_at":"2026-01-01T00:00:00Z"}'; is "$STATUS" 422 "ends before starts rejected"
ev "$OPS" '{"name":"X","unknown":1}'; is "$STATUS" 422 "unknown field rejected"
ev "$OPS" 'not json'; is "$STATUS" 400 "malformed JSON"
big=$(python3 -c 'import json;print(json.dumps([{"name":"n%d"%i} for i in range(1001)]))')
ev "$OPS" "$big"; is "$STATUS" 413 "more than 1000 events is 413"

# Accounts and rights.
ev "$VIEW" '{"name":"X"}'; is "$STATUS" 403 "viewer may not submit events"
ev "$OTHER" "{\"account\":\"$A\",\"name\":\"X\"}"; is "$STATUS" 404 "other account is invisible"
ev "$ADMIN" '{"name":"X"}'; is "$STATUS" 422 "global admin must name the account"
ev "$ADMIN" "{\"account\":\"$B\",\"name\":\"X\"}"; is "$STATUS" 202 "admin names the account"
api "$OTHER" GET "/api/v1/alarms"; is "$(jf '[.items[].account]|unique|join(",")')" "$B" "lists only own account"
api "" GET "/api/v1/alarms"; is "$STATUS" 401 "no token 401"
done_testing
