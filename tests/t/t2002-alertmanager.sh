#!/usr/bin/env bash
# Alertmanager API v2 compatibility: the same requests against flywheel and a real Alertmanager 0.25
# (Debian prometheus-alertmanager) give the same status codes and bodies; amtool's alert query,
# silence add/query/expire print the same. Plus what AM cannot do: silences survive a restart.
. "$(dirname "$0")/../lib.sh"
if ! command -v amtool >/dev/null || ! command -v prometheus-alertmanager >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-alertmanager >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-alertmanager >/dev/null 2>&1; }
fi
command -v amtool >/dev/null || { fail "amtool is not installed"; done_testing; exit 1; }
fw_start || exit 1
A=220000000002
mk_account $A
TOK=$(user am $A operator)
AMP=$(free_port)
mkdir -p "$TEST_DIR/am"
cat >"$TEST_DIR/am/am.yml" <<YAML
route: {receiver: default, group_by: [alertname]}
receivers: [{name: default}]
YAML
prometheus-alertmanager --config.file="$TEST_DIR/am/am.yml" --storage.path="$TEST_DIR/am/data" \
  --web.listen-address="127.0.0.1:$AMP" --cluster.listen-address= >"$TEST_DIR/am/log" 2>&1 &
AMPID=$!
trap 'kill $AMPID 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$AMP/-/ready" >/dev/null && break; sleep 0.1; done
FWU="http://am:$TOK@127.0.0.1:$FW_PORT"; AMU="http://127.0.0.1:$AMP"

# both METHOD PATH [BODY]: same request to both; sets FS FB (flywheel) and AS AB (alertmanager)
both() {
  local m=$1 p=$2 d=${3-}
  local args=(-s -o "$TEST_DIR/b" -w '%{http_code}' -X "$m" -H 'Content-Type: application/json')
  [ -n "$d" ] && args+=(--data-binary "$d")
  FS=$(curl "${args[@]}" "$FWU$p"); FB=$(cat "$TEST_DIR/b")
  AS=$(curl "${args[@]}" "$AMU$p"); AB=$(cat "$TEST_DIR/b")
}
same() { is "$FS $FB" "$AS $AB" "$1"; }

both GET /-/healthy; same "/-/healthy"
both GET /-/ready; same "/-/ready"
T0=$(date -u -d '-10 min' +%Y-%m-%dT%H:%M:%S.000Z); T1=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%S.000Z)
GOOD="[{\"labels\":{\"alertname\":\"DiskFull\",\"severity\":\"critical\",\"instance\":\"db1\"},\"annotations\":{\"summary\":\"disk is full\"},\"startsAt\":\"$T0\",\"endsAt\":\"$T1\"},
 {\"labels\":{\"alertname\":\"HighLoad\",\"instance\":\"web1\",\"empty\":\"\"},\"annotations\":{\"summary\":\"load\"},\"startsAt\":\"$T0\",\"endsAt\":\"$T1\"}]"
both POST /api/v2/alerts "$GOOD"; same "POST valid alerts: 200, empty body"
both POST /api/v2/alerts "[{\"labels\":{\"alertname\":\"Ok1\"},\"startsAt\":\"$T0\",\"endsAt\":\"$T1\"},{\"labels\":{\"1x\":\"v\"}},{\"labels\":{}},{\"labels\":{\"a\":\"b\"},\"startsAt\":\"$T1\",\"endsAt\":\"$T0\"}]"
same "invalid alerts: 400 with the joined messages as a JSON string"
both POST /api/v2/alerts '[{"labels":{"a":"b"}'; is "$FS $(jq -r .code <<<"$FB")" "$AS $(jq -r .code <<<"$AB")" "malformed JSON: framework 400 {code,message}"
both POST /api/v2/alerts '{"labels":{"a":"b"}}'; same "object instead of array: 400 {code,message}"
both POST /api/v2/alerts '[{"labels":{"a":1}}]'; same "non-string label value: 400"
both POST /api/v2/alerts '[{"labels":{"alertname":"x\u004Zy"}}]'
is "$FS $(jq -r .code <<<"$FB")" "$AS $(jq -r .code <<<"$AB")" "a \\u escape that is not hex: framework 400, as Alertmanager"
both POST /api/v2/alerts ''; same "empty body: 422 code 602"
both POST /api/v2/alerts '[{"annotations":{}}]'; is "$FS $(jq -r .code <<<"$FB")" "$AS $(jq -r .code <<<"$AB")" "missing labels: 422 code 602"

# Escapes and long values, labels out of order: the fast parser decodes them as Alertmanager does
# (fingerprints and stored text compared below); a repeat with other annotations replaces them.
tricky() {
  sed -e "s/@T0@/$T0/; s/@T1@/$T1/; s/@SUMMARY@/$1/" <<'JSON'
[{"labels":{"zeta":"last","alertname":"Tricky","path":"C:\\dir\\file \"quoted\" and a long tail","nl":"line1\nline2\ttab","uni":"caf\u00e9 \u2013 d\u00e9j\u00e0 vu, déjà","slash":"a\/b"},
  "annotations":{"summary":"@SUMMARY@ \"version\"","z":"1","a":"2"},"startsAt":"@T0@","endsAt":"@T1@"}]
JSON
}
both POST /api/v2/alerts "$(tricky first)"; same "escapes, unicode and long values: 200"
both POST /api/v2/alerts "$(tricky second)"; same "the repeat with new annotations: 200"
both GET '/api/v2/alerts?filter=alertname%3D%22Tricky%22'
is "$(jq -r '.[0].annotations.summary' <<<"$FB")" 'second "version"' "the repeat replaced the annotations"

# alerts the valid ones of the bad batch included (best effort)
both GET '/api/v2/alerts?filter=alertname%3D%22Ok1%22'
is "$(jq -c '[.[].labels]' <<<"$FB")" "$(jq -c '[.[].labels]' <<<"$AB")" "valid alert of a rejected batch is stored"
both GET '/api/v2/alerts'
norm='[.[]|{labels,annotations,startsAt,endsAt,fingerprint,receivers,status,k:(keys)}]'
is "$(jq -cS "$norm" <<<"$FB")" "$(jq -cS "$norm" <<<"$AB")" "GET /alerts: same alerts, fingerprints, fields"
like "$(jq -r '.[0].updatedAt' <<<"$FB")" '^[0-9-]{10}T[0-9:]{8}\.[0-9]{3}Z$' "3-digit millisecond timestamps"
both GET '/api/v2/alerts?filter=severity%3D~%22crit.*%22&filter=instance!%3D%22x%22'
is "$(jq -c '[.[].fingerprint]' <<<"$FB")" "$(jq -c '[.[].fingerprint]' <<<"$AB")" "filters AND, regex anchored"
both GET '/api/v2/alerts?filter=%7Bbad'; is "$FS $FB" "$AS $AB" "bad filter: 400 JSON string"
both GET '/api/v2/alerts?receiver=def.*'; is "$(jq length <<<"$FB")" "$(jq length <<<"$AB")" "receiver regex"
both GET '/api/v2/alerts?receiver=%28'; is "$FS" "$AS" "bad receiver regex 400"
both GET '/api/v2/alerts?active=maybe'; is "$FS" "$AS" "unreadable boolean keeps the default"
both GET '/api/v2/alerts/groups'
is "$(jq -c '[.[]|{labels,receiver,n:(.alerts|length)}]|sort_by(.labels.alertname)' <<<"$FB")" \
   "$(jq -c '[.[]|{labels,receiver,n:(.alerts|length)}]|sort_by(.labels.alertname)' <<<"$AB")" "GET /alerts/groups"
both GET /api/v2/status
is "$(jq -cS '{c:.cluster,v:.versionInfo.version,k:(keys)}' <<<"$FB")" "$(jq -cS '{c:(.cluster|del(.name)),v:.versionInfo.version,k:(keys)}' <<<"$AB")" "GET /status shape"
is "$(jq -c '.versionInfo|keys' <<<"$FB")" "$(jq -c '.versionInfo|keys' <<<"$AB")" "versionInfo has all six fields"
both GET /api/v2/receivers; like "$FB" '"name":"default"' "receivers list default"

# Silences over the API
SIL="{\"matchers\":[{\"name\":\"alertname\",\"value\":\"DiskFull\",\"isRegex\":false}],\"startsAt\":\"$T0\",\"endsAt\":\"$T1\",\"createdBy\":\"t\",\"comment\":\"c\"}"
both POST /api/v2/silences "$SIL"; is "$FS $(jq -r 'keys|join(",")' <<<"$FB")" "$AS $(jq -r 'keys|join(",")' <<<"$AB")" "POST silence: 200 {silenceID}"
FID=$(jq -r .silenceID <<<"$FB"); AID=$(jq -r .silenceID <<<"$AB")
like "$FID" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "silence id is a UUID v4"
both POST /api/v2/silences "{\"matchers\":[{\"name\":\"a\",\"value\":\"b\",\"isRegex\":false}],\"startsAt\":\"$T1\",\"endsAt\":\"$T0\",\"createdBy\":\"t\",\"comment\":\"c\"}"; same "silence start after end"
both POST /api/v2/silences "{\"matchers\":[{\"name\":\"a\",\"value\":\"b\",\"isRegex\":false}],\"startsAt\":\"2020-01-01T00:00:00Z\",\"endsAt\":\"2020-01-02T00:00:00Z\",\"createdBy\":\"t\",\"comment\":\"c\"}"; same "silence end in the past"
both POST /api/v2/silences "{\"matchers\":[{\"name\":\"a\",\"value\":\".*\",\"isRegex\":true}],\"startsAt\":\"$T0\",\"endsAt\":\"$T1\",\"createdBy\":\"t\",\"comment\":\"c\"}"; same "matchers matching everything refused"
both POST /api/v2/silences "{\"matchers\":[{\"name\":\"a\",\"value\":\"b\",\"isRegex\":false}],\"startsAt\":\"$T0\",\"endsAt\":\"$T1\",\"comment\":\"c\"}"; is "$FS $FB" "$AS $AB" "createdBy required: 422"
both POST /api/v2/silences "{\"id\":\"11111111-2222-4333-8444-555555555555\",\"matchers\":[{\"name\":\"a\",\"value\":\"b\",\"isRegex\":false}],\"startsAt\":\"$T0\",\"endsAt\":\"$T1\",\"createdBy\":\"t\",\"comment\":\"c\"}"; same "unknown id 404"
both GET '/api/v2/alerts?silenced=false&filter=alertname%3D%22DiskFull%22'; is "$(jq length <<<"$FB")" "$(jq length <<<"$AB")" "silenced alert hidden with silenced=false"
FS=$(curl -s -o "$TEST_DIR/b" -w '%{http_code}' "$FWU/api/v2/silence/$FID"); FB=$(cat "$TEST_DIR/b")
AS=$(curl -s -o "$TEST_DIR/b" -w '%{http_code}' "$AMU/api/v2/silence/$AID"); AB=$(cat "$TEST_DIR/b")
is "$(jq -cS 'del(.id,.updatedAt,.startsAt)' <<<"$FB")" "$(jq -cS 'del(.id,.updatedAt,.startsAt)' <<<"$AB")" "GET /silence/{id}"
both GET /api/v2/silence/11111111-2222-4333-8444-555555555555; same "unknown silence: 404 empty"
both GET /api/v2/silence/nope; is "$FS" "$AS" "malformed id: 422"
both DELETE /api/v2/silence/11111111-2222-4333-8444-555555555555; same "DELETE unknown: 500 JSON string"

# amtool against both
amf() { amtool --alertmanager.url="$FWU" "$@" 2>&1; }
ama() { amtool --alertmanager.url="$AMU" "$@" 2>&1; }
is "$(amf alert query)" "$(ama alert query)" "amtool alert query"
is "$(amf alert query -s)" "$(ama alert query -s)" "amtool alert query -s (silenced too)"
is "$(amf alert query alertname=HighLoad)" "$(ama alert query alertname=HighLoad)" "amtool alert query with matcher"
is "$(amf alert query -o json | jq -c '[.[].fingerprint]')" "$(ama alert query -o json | jq -c '[.[].fingerprint]')" "amtool -o json fingerprints"
F2=$(amf silence add instance=web1 -a tester -c "patching" -d 2h); A2=$(ama silence add instance=web1 -a tester -c "patching" -d 2h)
like "$F2" '^[0-9a-f-]{36}$' "amtool silence add prints the id"
nq() { sed -E 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/ID/g; s/[0-9]{2}:[0-9]{2}:[0-9]{2} UTC/T UTC/g'; }
is "$(amf silence query | nq)" "$(ama silence query | nq)" "amtool silence query"
is "$(amf silence query instance=web1 | nq)" "$(ama silence query instance=web1 | nq)" "amtool silence query with matcher"
is "$(amf silence query -q | wc -l)" 2 "amtool silence query -q"
is "$(amf alert query)" "$(ama alert query)" "amtool alert query hides silenced alerts"
amf silence expire "$F2" >/dev/null; ama silence expire "$A2" >/dev/null
is "$(amf silence query | nq)" "$(ama silence query | nq)" "amtool silence expire"
is "$(amf silence query --expired | nq)" "$(ama silence query --expired | nq)" "amtool silence query --expired"
is "$(amf silence expire 11111111-2222-4333-8444-555555555555; echo rc=$?)" "$(ama silence expire 11111111-2222-4333-8444-555555555555; echo rc=$?)" "amtool silence expire unknown"

# Flywheel keeps alerts and silences across restarts (AM does not keep alerts).
fw_kill9; fw_start || exit 1
is "$(amf alert query -s)" "$(ama alert query -s)" "alerts survive kill -9"
is "$(amf silence query | nq)" "$(ama silence query | nq)" "silences survive kill -9"
# Auth: no credentials, bad token
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$FW_PORT/api/v2/alerts")" 401 "no credentials 401"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://x:fw_bad_token@127.0.0.1:$FW_PORT/api/v2/alerts")" 401 "bad basic auth 401"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK" "http://127.0.0.1:$FW_PORT/api/v2/alerts")" 200 "bearer token accepted"
python3 -c 'import json;print(json.dumps([{"labels":{"a":"x%d"%i}} for i in range(10001)]))' >"$TEST_DIR/big.json"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' --data-binary @"$TEST_DIR/big.json" "http://127.0.0.1:$FW_PORT/api/v2/alerts")" 413 "oversize batch 413"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK" "http://127.0.0.1:$FW_PORT/api/v2/alerts?filter=a%3D~%22x.*%22" )" 200 "nothing of the oversize batch stored"
is "$(curl -s -H "Authorization: Bearer $TOK" "http://127.0.0.1:$FW_PORT/api/v2/alerts?filter=a%3D~%22x.*%22" | jq length)" 0 "nothing of the oversize batch stored (count)"
done_testing
