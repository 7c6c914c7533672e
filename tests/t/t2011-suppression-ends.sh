#!/usr/bin/env bash
# When a silence or maintenance window ends, an alarm it held back that is still firing pages as a new
# firing alarm would (Alertmanager: an alert whose silence expires is active again and notified):
# silence expired through the API, silence whose endsAt passes, window deleted, window that ends,
# window that ended while the daemon was down. An alarm that resolved meanwhile, or that another
# silence still covers, stays quiet.
. "$(dirname "$0")/../lib.sh"
fw_start || exit 1
A=230000000011
mk_account $A
OPS=$(user ops $A operator)
FWU() { echo "http://ops:$OPS@127.0.0.1:$FW_PORT"; }
ev() { api "$OPS" POST /api/v1/events "$1"; }
# alarm NAME RESOURCE: BODY gets that alarm (native listing)
alarm() { api "$OPS" GET "/api/v1/alarms?status=all&filter=alertname%3D%22$1%22"; BODY=$(jq -c --arg r "$2" '[.items[]|select(.labels.resource==$r)][0]' <<<"$BODY"); }
# wait_incident NAME RESOURCE [SECONDS]: polls until the alarm has an incident; prints it (or null)
wait_incident() {
  local i inc=null
  for i in $(seq 1 $((${3:-10} * 4))); do
    alarm "$1" "$2"; inc=$(jf .incident)
    [ "$inc" != null ] && break
    sleep 0.25
  done
  echo "$inc"
}
# am_alert NAME RESOURCE: the alert as GET /api/v2/alerts shows it (amtool's view)
am_alert() {
  curl -s "$(FWU)/api/v2/alerts?filter=alertname%3D%22$1%22&silenced=true&inhibited=true&active=true" |
    jq -c --arg r "$2" '[.[]|select(.labels.resource==$r)][0]'
}
incidents() { api "$OPS" GET "/api/v1/incidents?limit=100"; jf '.items|length'; }
dnow() { echo $(( $(date +%s%3N) + ${OFF:-0} )); }
iso() { date -u -d "@$(( $1 / 1000 ))" +%Y-%m-%dT%H:%M:%SZ; }

# 1. A silence expired through the API.
api "$OPS" POST /api/v1/silences '{"matchers":["alertname=\"Sil1\""],"duration":"1h","comment":"upgrade"}'
is "$STATUS" 201 "silence 1 created"; S1=$(jf .id)
api "$OPS" POST /api/v1/silences '{"matchers":["resource=\"covered\""],"duration":"1h","comment":"still covered"}'
is "$STATUS" 201 "silence 2 created"; S2=$(jf .id)
ev '[{"name":"Sil1","resource":"up"},{"name":"Sil1","resource":"gone"},{"name":"Sil1","resource":"covered"}]'
is "$(jf '[.items[].suppressed]|join(",")')" "silenced,silenced,silenced" "three alarms fire silenced"
is "$(jf '[.items[].incident|select(.!=null)]|length')" 0 "silenced alarms open no incident"
ev '{"name":"Sil1","resource":"gone","status":"resolved"}'
is "$(jf '.items[0].status')" resolved "one alarm resolves while silenced"
api "$OPS" DELETE "/api/v1/silences/$S1"; is "$STATUS" 204 "silence 1 expired through the API"
INC=$(wait_incident Sil1 up)
like "$INC" '^INC-[0-9]+$' "still-firing alarm opens an incident once its silence is expired"
api "$OPS" GET "/api/v1/incidents/$INC"
is "$STATUS" 200 "the incident exists"
like "$(jf .status)" '^(new|investigating|acknowledged)$' "the incident is open"
sleep 1.5 # one more pass of the background thread: nothing else may page
alarm Sil1 gone; is "$(jf .incident)" null "alarm resolved during the silence opens no incident"
is "$(jf .status)" resolved "and stays resolved"
alarm Sil1 covered; is "$(jf .incident)" null "alarm still covered by another silence opens no incident"
is "$(jf '.silenced_by|join(",")')" "$S2" "it lists the silence that still covers it"
is "$(am_alert Sil1 up | jq -r '.status.state + " " + (.status.silencedBy|length|tostring)')" "active 0" \
  "GET /api/v2/alerts: the alarm is active, silenced by nothing"
is "$(am_alert Sil1 covered | jq -r '.status.state + " " + (.status.silencedBy|join(","))')" "suppressed $S2" \
  "GET /api/v2/alerts: the covered one is still suppressed"
is "$(incidents)" 1 "one incident in the account: the still-firing alarm's"

# 2. A silence whose endsAt passes by itself (Alertmanager API).
T0=$(dnow); END=$(( T0 + 4000 ))
SIL="{\"matchers\":[{\"name\":\"alertname\",\"value\":\"Sil2\",\"isRegex\":false}],\"startsAt\":\"$(iso "$T0")\",\"endsAt\":\"$(date -u -d "@$(( END / 1000 ))" +%Y-%m-%dT%H:%M:%S).$(printf %03d $(( END % 1000 )))Z\",\"createdBy\":\"t\",\"comment\":\"short\"}"
S3=$(curl -s -H 'Content-Type: application/json' --data-binary "$SIL" "$(FWU)/api/v2/silences" | jq -r .silenceID)
like "$S3" '^[0-9a-f-]{36}$' "short silence created through the Alertmanager API"
R=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary '[{"labels":{"alertname":"Sil2","resource":"am"}}]' "$(FWU)/api/v2/alerts")
is "$R" 200 "alert posted through the Alertmanager API"
alarm Sil2 am; is "$(jf '.suppressed_by|join(",")') $(jf .incident)" "silenced null" "alert is silenced, no incident"
is "$(am_alert Sil2 am | jq -r .status.state)" suppressed "GET /api/v2/alerts: suppressed while silenced"
while [ "$(dnow)" -lt "$END" ]; do sleep 0.2; done
INC2=$(wait_incident Sil2 am)
like "$INC2" '^INC-[0-9]+$' "alert opens an incident once the silence's endsAt passed"
is "$(am_alert Sil2 am | jq -r '.status.state + " " + (.status.silencedBy|length|tostring)')" "active 0" \
  "GET /api/v2/alerts: active after the silence ended"
curl -s "$(FWU)/api/v2/silence/$S3" >"$TEST_DIR/s3"; is "$(jq -r .status.state "$TEST_DIR/s3")" expired "silence shows expired"
is "$(incidents)" 2 "two incidents in the account"

# 3. A maintenance window deleted through the API.
api "$OPS" POST /api/v1/maintenance-windows '{"name":"db","matchers":["service=\"db1\""],"cron":"* * * * *","duration":"1h"}'
is "$STATUS" 201 "maintenance window created"; MW=$(jf .id)
ev '{"name":"DbDown","resource":"db1","labels":{"service":"db1"}}'
is "$(jf '.items[0].suppressed') $(jf '.items[0].incident')" "maintenance null" "alarm in maintenance, no incident"
api "$OPS" DELETE "/api/v1/maintenance-windows/$MW"; is "$STATUS" 204 "window deleted"
like "$(wait_incident DbDown db1)" '^INC-[0-9]+$' "alarm opens an incident once its window is deleted"
is "$(incidents)" 3 "three incidents in the account"

# 4. A window that ends while the daemon runs, and one that ends while it is down. The clock is set
# 45 s into a minute; both windows start at that minute, one lasts 1 minute, the other 2.
fw_stop
R0=$(date +%s%3N); OFF=$(( (R0 / 60000 + 1) * 60000 + 45000 - R0 ))
FLYWHEEL_CLOCK_OFFSET_MS=$OFF fw_start || exit 1
M=$(date -u -d "@$(( $(dnow) / 1000 ))" +%-M); H=$(date -u -d "@$(( $(dnow) / 1000 ))" +%-H)
WEND=$(( ($(dnow) / 60000 + 1) * 60000 ))
api "$OPS" POST /api/v1/maintenance-windows "{\"name\":\"short\",\"matchers\":[\"service=\\\"web2\\\"\"],\"cron\":\"$M $H * * *\",\"duration\":\"1m\"}"
is "$STATUS" 201 "one-minute window created"
api "$OPS" POST /api/v1/maintenance-windows "{\"name\":\"longer\",\"matchers\":[\"service=\\\"web3\\\"\"],\"cron\":\"$M $H * * *\",\"duration\":\"2m\"}"
is "$STATUS" 201 "two-minute window created"
ev '[{"name":"Web2Down","resource":"web2","labels":{"service":"web2"}},{"name":"Web3Down","resource":"web3","labels":{"service":"web3"}}]'
is "$(jf '[.items[].suppressed]|join(",")')" "maintenance,maintenance" "both alarms fire in maintenance"
is "$(jf '[.items[].incident|select(.!=null)]|length')" 0 "no incident while the windows are active"
while [ "$(dnow)" -lt "$WEND" ]; do sleep 0.5; done
like "$(wait_incident Web2Down web2)" '^INC-[0-9]+$' "alarm opens an incident once its window ended"
alarm Web3Down web3; is "$(jf '.suppressed_by|join(",")') $(jf .incident)" "maintenance null" "the longer window still holds its alarm back"
sleep 1.5 # its flags reach the store (checkpoint) before the kill
fw_kill9
OFF=$(( OFF + 120000 ))
FLYWHEEL_CLOCK_OFFSET_MS=$OFF fw_start || exit 1
like "$(wait_incident Web3Down web3)" '^INC-[0-9]+$' "a window that ended while the daemon was down: its alarm pages after start-up"
is "$(incidents)" 5 "five incidents in the account: none opened twice after the restart"
done_testing
