#!/usr/bin/env bash
# Webhook notifications: HMAC signature, retries with backoff, dead letters, idempotency keys, topic
# fan-out with filters, the delivery log, and customers told of status changes and public comments only.
. "$(dirname "$0")/../lib.sh"
RECV="$FW_ROOT/tests/data/notify/webhook_receiver.py"
SECRET=s3cr3t-for-tests
# wait_until SECONDS COMMAND…: polls until the command succeeds.
wait_until() { local t=$1; shift; for _ in $(seq 1 $((t * 10))); do "$@" && return 0; sleep 0.1; done; return 1; }
RPIDS=
trap 'kill $RPIDS 2>/dev/null; cleanup' EXIT
start_receiver() { # name secret fail_first -> sets <name>_URL, log at $TEST_DIR/<name>.log
  python3 "$RECV" "$TEST_DIR/$1.port" "$TEST_DIR/$1.log" "$2" "$3" &
  RPIDS="$RPIDS $!"
  wait_until 5 test -s "$TEST_DIR/$1.port" || return 1
  printf -v "${1}_URL" 'http://127.0.0.1:%s/hook' "$(cat "$TEST_DIR/$1.port")"
}
delivered() { [ -f "$TEST_DIR/$1.log" ] && [ "$(jq -s "[.[] | select(.status == 200 $2)] | length" "$TEST_DIR/$1.log")" -ge "${3:-1}" ]; }

start_receiver good "$SECRET" 2 || { fail "receiver starts"; done_testing; exit 1; }
start_receiver bad "another-secret" 0
fw_start || { fail "daemon starts"; done_testing; exit 1; }
ACC=111111111111
mk_account $ACC

# --- channels: validation and secrets
api "$ADMIN" POST /api/v1/channels '{"name":"x","type":"webhook"}'
is "$STATUS" 422 "webhook without url: 422"
like "$(jf .error.message)" "url" "the error names the url"
api "$ADMIN" POST /api/v1/channels '{"name":"x","type":"webhook","url":"ftp://example.com/"}'
is "$STATUS" 422 "ftp url: 422"
api "$ADMIN" POST /api/v1/channels "{\"name\":\"x\",\"type\":\"webhook\",\"url\":\"$good_URL\",\"max_attempts\":0}"
is "$STATUS" 422 "max_attempts 0: 422"
api "$ADMIN" POST /api/v1/channels "{\"name\":\"gen\",\"type\":\"webhook\",\"url\":\"$good_URL\"}"
like "$(jf .secret)" '^[0-9a-f]{64}$' "a webhook without a secret gets a generated one, shown once"
api "$ADMIN" GET "/api/v1/channels/$(jf .id)"
is "$(jf '.secret // "hidden"')" hidden "the secret is not shown again"
is "$(jf .secret_set)" true "secret_set says one exists"

api "$ADMIN" POST /api/v1/channels "{\"name\":\"ops hook\",\"type\":\"webhook\",\"account\":\"$ACC\",\"url\":\"$good_URL\",\"secret\":\"$SECRET\",\"backoff_ms\":100,\"backoff_max_ms\":400,\"max_attempts\":5,\"timeout_ms\":2000}"
is "$STATUS" 201 "webhook channel created"
CH=$(jf .id)
is "$(jf '.secret // "none"')" none "a given secret is not echoed"
api "$ADMIN" POST /api/v1/channels "{\"name\":\"wrong secret\",\"type\":\"webhook\",\"account\":\"$ACC\",\"url\":\"$bad_URL\",\"secret\":\"$SECRET\",\"backoff_ms\":50,\"max_attempts\":4}"
CHBAD=$(jf .id)
api "$ADMIN" POST /api/v1/channels "{\"name\":\"nowhere\",\"type\":\"webhook\",\"account\":\"$ACC\",\"url\":\"http://127.0.0.1:1/hook\",\"secret\":\"$SECRET\",\"backoff_ms\":50,\"backoff_max_ms\":100,\"max_attempts\":3,\"timeout_ms\":500}"
CHDOWN=$(jf .id)

# --- topics and subscriptions
api "$ADMIN" POST /api/v1/topics "{\"name\":\"ops\",\"account\":\"$ACC\"}"
is "$STATUS" 201 "topic created"
TOP=$(jf .id)
api "$ADMIN" POST "/api/v1/topics/$TOP/subscriptions" '{"channel":"chn-999"}'
is "$STATUS" 422 "subscription to an unknown channel: 422"
api "$ADMIN" POST "/api/v1/topics/$TOP/subscriptions" "{\"channel\":\"$CH\",\"filter\":{\"colour\":[\"red\"]}}"
is "$STATUS" 422 "unknown filter field: 422"
api "$ADMIN" POST "/api/v1/topics/$TOP/subscriptions" "{\"channel\":\"$CH\",\"filter\":{\"events\":[\"ticket.*\"],\"severities\":[\"critical\",\"high\"]}}"
is "$STATUS" 201 "filtered subscription created"
api "$ADMIN" POST "/api/v1/topics/$TOP/subscriptions" "{\"channel\":\"$CH\",\"endpoint\":\"${good_URL}/all\",\"filter\":{\"events\":[\"deploy.*\"]}}"
api "$ADMIN" POST "/api/v1/topics/$TOP/subscriptions" "{\"channel\":\"$CHBAD\",\"filter\":{\"events\":[\"deploy.*\"]}}"
api "$ADMIN" POST "/api/v1/topics/$TOP/subscriptions" "{\"channel\":\"$CHDOWN\",\"filter\":{\"events\":[\"deploy.*\"]}}"
api "$ADMIN" GET "/api/v1/topics/$TOP"
is "$(jf '.subscriptions | length')" 4 "the topic lists its four subscriptions"

# --- a customer's ticket: status changes and public comments are published; internal ones are not
CUST=$(user carol $ACC requester)
OPS=$(user oscar $ACC operator)
api "$CUST" POST /api/v1/incidents "{\"account\":\"$ACC\",\"title\":\"db down\",\"severity\":\"critical\"}"
INC=$(jf .id)
api "$OPS" PATCH "/api/v1/incidents/$INC" '{"status":"acknowledged"}'
is "$STATUS" 200 "operator acknowledges"
api "$OPS" POST "/api/v1/incidents/$INC/comments" '{"body":"internal: the disk is full","visibility":"internal"}'
api "$OPS" POST "/api/v1/incidents/$INC/comments" '{"body":"we are on it","visibility":"public"}'
is "$STATUS" 201 "public comment added"

check "the status change reaches the webhook after two 503s" wait_until 15 delivered good 'and .event == "ticket.status_changed"'
check "the public comment reaches the webhook" wait_until 15 delivered good 'and .event == "ticket.commented"'
L="$TEST_DIR/good.log"
is "$(jq -s '[.[] | select(.event == "ticket.status_changed")] | length' "$L")" 3 "the status change took three attempts (503, 503, 200)"
is "$(jq -s '[.[] | select(.sig_ok | not)] | length' "$L")" 0 "every request carried a valid HMAC-SHA256 signature"
is "$(jq -rs '[.[] | select(.body.event == "ticket.commented") | .body.data.detail.body] | unique | join(",")' "$L")" "we are on it" "only the public comment was published"
KEY=$(jq -rs '[.[] | select(.event == "ticket.status_changed")][0].key' "$L")
like "$KEY" '^ntf-[0-9a-f]{24}$' "the Idempotency-Key is the outbox id"
is "$(jq -rs "[.[] | select(.key == \"$KEY\") | .body.idempotency_key] | unique | join(\",\")" "$L")" "$KEY" "the body repeats the same key on every attempt"

api "$ADMIN" GET "/api/v1/notifications?idempotency_key=$KEY&channel=$CH"
is "$(jf '.items[0].status')" delivered "the delivery log shows the notification delivered"
is "$(jf '.items[0].attempts')" 3 "with three attempts"
is "$(jf '[.items[0].attempts_log[].code] | join(",")')" "503,503,200" "each attempt with its status code"
like "$(jf '.items[0].attempts_log[0].error')" "503" "the failed attempts carry their error"
t1=$(jf '.items[0].attempts_log[1].at'); t2=$(jf '.items[0].attempts_log[2].at')
gap=$(python3 -c "from datetime import datetime as d; f=lambda s: d.fromisoformat(s.replace('Z','+00:00')); print(int((f('$t2')-f('$t1')).total_seconds()*1000))")
check "the second retry waited at least half the doubled backoff (>=100 ms, got $gap)" test "$gap" -ge 100

# --- customers see their own ticket's notifications; the requester's e-mail is dead until a channel exists
api "$ADMIN" GET "/api/v1/notifications?event=ticket.status_changed&status=dead"
like "$(jf '.items[0].last_error')" "no e-mail channel" "the requester's e-mail without a channel is dead, with the reason"

# --- publish: fan-out to three subscribers, each with its own fate
api "$OPS" POST "/api/v1/topics/$TOP/publish" '{"event":"deploy.finished","data":{"service":"api"}}'
is "$STATUS" 202 "publish accepted"
check "the unfiltered subscriber gets the publish" wait_until 15 delivered good 'and .event == "deploy.finished" and .path == "/hook/all"'
check "wrong secret: the receiver refuses with 401" wait_until 10 test -s "$TEST_DIR/bad.log"
dead_count() { api "$ADMIN" GET "/api/v1/notifications?event=deploy.finished&status=dead"; [ "$(jf '.items | length')" -ge "$1" ]; }
check "both failing subscribers end dead" wait_until 15 dead_count 2
api "$ADMIN" GET "/api/v1/notifications?event=deploy.finished&channel=$CHBAD"
is "$(jf '.items[0].attempts')" 1 "a 401 is permanent: no retries"
api "$ADMIN" GET "/api/v1/notifications?event=deploy.finished&channel=$CHDOWN"
is "$(jf '.items[0].status')" dead "an unreachable webhook is dead-lettered"
is "$(jf '.items[0].attempts')" 3 "after max_attempts (3) tries"
like "$(jf '.items[0].last_error')" "(onnect|refused)" "the error says the connection failed"
DEAD=$(jf '.items[0].id')
DKEY=$(jf '.items[0].idempotency_key')
is "$(grep -c '"ticket.status_changed"' "$TEST_DIR/good.log" | tr -d ' ')" 3 "the filter kept deploy events from the ticket subscription"

# --- a dead letter is not lost: fix the channel, retry, delivered with the same key
api "$ADMIN" PATCH "/api/v1/channels/$CHDOWN" "{\"url\":\"$good_URL\"}"
is "$STATUS" 200 "channel url fixed"
api "$ADMIN" POST "/api/v1/notifications/$DEAD/retry"
is "$STATUS" 202 "dead notification retried"
api "$ADMIN" POST "/api/v1/notifications/$DEAD/retry"
is "$STATUS" 409 "retrying a live one: 409"
check "the retried dead letter is delivered" wait_until 15 delivered good "and .key == \"$DKEY\" and .path == \"/hook\""
is "$(jq -s "[.[] | select(.key == \"$DKEY\" and .status == 200 and .path == \"/hook\")][0].body.id" "$TEST_DIR/good.log" | tr -d '"')" "$DEAD" "with its original id"

# --- crash: restart with a retry pending; the key stays the same and it arrives once
api "$ADMIN" PATCH "/api/v1/channels/$CH" '{"backoff_ms":1500,"backoff_max_ms":1500}'
api "$OPS" PATCH "/api/v1/incidents/$INC" '{"status":"investigating"}'
wait_until 10 grep -q '"to": "investigating"' "$TEST_DIR/good.log"
fw_kill9
fw_start
check "after kill -9 and restart, the pending notification is delivered" wait_until 20 delivered good 'and .body.data.detail.to == "investigating"' 
sleep 1
is "$(jq -s '[.[] | select(.duplicate)] | length' "$TEST_DIR/good.log")" 0 "no duplicate deliveries of any key"

# --- permissions
api "$CUST" GET /api/v1/channels
is "$(jf '[.items[] | select(.account == null)] | length')" 1 "customers see global channels' existence only"
api "$CUST" POST /api/v1/channels "{\"name\":\"c\",\"type\":\"webhook\",\"account\":\"$ACC\",\"url\":\"$good_URL\"}"
is "$STATUS" 403 "a requester cannot create channels"
done_testing
