#!/usr/bin/env bash
# Noise KPI: raw events, alarms, suppressed, grouped and incidents per account and day, and
# noise reduction = 1 - incidents / raw events, kept across restarts.
. "$(dirname "$0")/../lib.sh"
fw_start || exit 1
A=260000000007; B=260000000008
mk_account $A; mk_account $B
OPS=$(user ops $A operator); OB=$(user opsb $B operator)
# 20 raw events: 4 alarms of one group (one incident), repeated 5 times each
for i in 1 2 3 4 5; do
  api "$OPS" POST /api/v1/events '[{"name":"Load","resource":"a"},{"name":"Load","resource":"b"},{"name":"Load","resource":"c"},{"name":"Load","resource":"d"}]'
done
api "$OPS" POST /api/v1/silences '{"matchers":["alertname=\"Quiet\""],"duration":"1h","comment":"c"}'
api "$OPS" POST /api/v1/events '{"name":"Quiet","resource":"q"}'
api "$OB" POST /api/v1/events '{"name":"Other","resource":"o"}'
TODAY=$(date -u +%Y-%m-%d)
sleep 1.5   # counters are checkpointed every second
fw_kill9; fw_start || exit 1
api "$OPS" GET "/api/v1/kpis/noise"
is "$STATUS" 200 "noise KPI"
is "$(jf '.items|length')" 1 "only the caller's accounts"
is "$(jf '.items[0].account')" $A "account"
is "$(jf '.items[0].events')" 21 "raw events"
is "$(jf '.items[0].alarms')" 5 "distinct alarms"
is "$(jf '.items[0].suppressed')" 1 "suppressed"
is "$(jf '.items[0].grouped')" 3 "grouped into an existing incident"
is "$(jf '.items[0].incidents')" 1 "incidents opened"
is "$(jf '.items[0].noise_reduction*1000|round')" 952 "noise reduction 1 - 1/21"
is "$(jf '.items[0].days[0].day')" "$TODAY" "per day"
api "$ADMIN" GET "/api/v1/kpis/noise?from=$TODAY&to=$TODAY"
is "$(jf '[.items[].account]|join(",")')" "$A,$B" "admin sees every account"
is "$(jf '.items[0].events')" 21 "KPIs survived kill -9"
api "$ADMIN" GET "/api/v1/kpis/noise?account=$B"; is "$(jf '.items[0].incidents')" 1 "account filter"
api "$ADMIN" GET "/api/v1/kpis/noise?from=yesterday"; is "$STATUS" 422 "bad date 422"
done_testing
