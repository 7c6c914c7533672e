#!/usr/bin/env bash
# E-mail notifications through a real SMTP server (Debian's python3-aiosmtpd on a loopback port,
# delivering into a Maildir): customers get every status change and public comment of their tickets
# as plain text + HTML, never internal comments; SMTP failures are retried, visible, and not lost.
. "$(dirname "$0")/../lib.sh"
if ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-aiosmtpd >/dev/null 2>&1
fi
SMTPD="$FW_ROOT/tests/data/notify/smtp_server.sh"
wait_until() { local t=$1; shift; for _ in $(seq 1 $((t * 10))); do "$@" && return 0; sleep 0.1; done; return 1; }
SPIDS=
trap 'kill $SPIDS 2>/dev/null; cleanup' EXIT
start_smtp() { # port maildir
  "$SMTPD" "$1" "$2" >>"$TEST_DIR/smtpd.log" 2>&1 &
  SPIDS="$SPIDS $!"
  wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}
mails() { ls "$1"/new 2>/dev/null | wc -l; }
P1=$(free_port); P2=$(free_port)
MD="$TEST_DIR/maildir"
check "the SMTP server starts" start_smtp "$P1" "$MD"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
ACC=222222222222; ACC2=333333333333
mk_account $ACC; mk_account $ACC2

api "$ADMIN" POST /api/v1/channels '{"name":"mail","type":"email","smtp_url":"http://x"}'
is "$STATUS" 422 "an email channel needs an smtp:// url"
api "$ADMIN" POST /api/v1/channels "{\"name\":\"mail\",\"type\":\"email\",\"account\":\"$ACC\",\"smtp_url\":\"smtp://127.0.0.1:$P1\",\"from\":\"support@flywheel.test\",\"customer_updates\":true,\"backoff_ms\":100,\"password\":\"pw\"}"
is "$STATUS" 201 "email channel created"
is "$(jf '.config.password // "hidden"')" hidden "the SMTP password is not shown"
api "$ADMIN" POST /api/v1/channels "{\"name\":\"mail2\",\"type\":\"email\",\"account\":\"$ACC2\",\"smtp_url\":\"smtp://127.0.0.1:$P2\",\"from\":\"support@flywheel.test\",\"customer_updates\":true,\"backoff_ms\":50,\"backoff_max_ms\":100,\"max_attempts\":2,\"timeout_ms\":1000}"
CH2=$(jf .id)

CUST=$(user carol $ACC requester)
OPS=$(user oscar $ACC operator)
api "$CUST" POST /api/v1/incidents "{\"account\":\"$ACC\",\"title\":\"checkout is slow\"}"
INC=$(jf .id)
api "$OPS" PATCH "/api/v1/incidents/$INC" '{"status":"acknowledged"}'
api "$OPS" POST "/api/v1/incidents/$INC/comments" '{"body":"SECRET-INTERNAL-NOTE","visibility":"internal"}'
api "$OPS" POST "/api/v1/incidents/$INC/comments" '{"body":"We found a slow query <b>and</b> fixed it.","visibility":"public"}'
api "$OPS" PATCH "/api/v1/incidents/$INC" '{"status":"resolved","resolution":"index added"}'
is "$STATUS" 200 "incident resolved"

check "three e-mails arrive (acknowledged, public comment, resolved)" wait_until 20 eval 'test "$(mails "$MD")" -ge 3'
sleep 0.5
is "$(mails "$MD")" 3 "exactly three: the internal comment sent nothing"
ALL=$(cat "$MD"/new/*)
check "none contains the internal comment" test -z "$(grep -l SECRET-INTERNAL-NOTE "$MD"/new/*)"
is "$(grep -l '^X-RcptTo: carol@example.com' "$MD"/new/* | wc -l)" 3 "all go to the requester's address"
like "$ALL" "Subject: \[Flywheel\] $INC is now acknowledged" "status change subject"
like "$ALL" "Subject: \[Flywheel\] $INC is now resolved" "resolution subject"
like "$ALL" "multipart/alternative" "multipart/alternative body"
like "$ALL" "text/plain; charset=utf-8" "with a plain-text part"
like "$ALL" "text/html; charset=utf-8" "and an HTML part"
like "$ALL" "slow query &lt;b&gt;and&lt;/b&gt; fixed" "the HTML part escapes the comment"
like "$ALL" "Message-ID: <ntf-[0-9a-f]{24}\.[0-9]+@flywheel>" "Message-ID from the notification id"
like "$ALL" "X-Flywheel-Idempotency-Key: ntf-[0-9a-f]{24}" "idempotency key header"
api "$ADMIN" GET "/api/v1/notifications?account=$ACC&status=delivered"
is "$(jf '.items | length')" 3 "the delivery log has three delivered e-mails"
is "$(jf '[.items[].address] | unique | join(",")')" "carol@example.com" "addressed to carol"
api "$CUST" GET "/api/v1/notifications"
is "$STATUS" 200 "a requester may call the delivery log"
is "$(jf '.items | length')" 0 "but sees no operator delivery records"

# --- SMTP down: retried, dead-lettered with the reason, then delivered after a retry
CUST2=$(user dave $ACC2 requester)
api "$CUST2" POST /api/v1/incidents "{\"account\":\"$ACC2\",\"title\":\"vpn flaps\"}"
INC2=$(jf .id)
api "$ADMIN" PATCH "/api/v1/incidents/$INC2" '{"status":"acknowledged"}'
dead() { api "$ADMIN" GET "/api/v1/notifications?account=$ACC2&status=dead"; [ "$(jf '.items | length')" -ge 1 ]; }
check "with the SMTP server down the e-mail ends dead" wait_until 15 dead
is "$(jf '.items[0].attempts')" 2 "after max_attempts (2)"
like "$(jf '.items[0].last_error')" "SMTP" "the error says SMTP failed"
like "$(jf '.items[0].attempts_log[0].error')" "(onnect|refused)" "each attempt logs the connection failure"
ID=$(jf '.items[0].id')
MD2="$TEST_DIR/maildir2"
start_smtp "$P2" "$MD2"
api "$ADMIN" POST "/api/v1/notifications/$ID/retry"
is "$STATUS" 202 "retry accepted"
check "after the server is back the retried e-mail arrives" wait_until 15 eval 'test "$(mails "$MD2")" -ge 1'
like "$(cat "$MD2"/new/*)" "X-RcptTo: dave@example.com" "to dave"
api "$ADMIN" GET "/api/v1/notifications/$ID"
is "$(jf .status)" delivered "the log shows it delivered"
is "$(jf .attempts)" 3 "on the third attempt"

# --- a requester without an e-mail channel: visible, retried once a channel exists
ACC3=444444444444; mk_account $ACC3
CUST3=$(user erin $ACC3 requester)
api "$CUST3" POST /api/v1/incidents "{\"account\":\"$ACC3\",\"title\":\"no channel\"}"
api "$ADMIN" PATCH "/api/v1/incidents/$(jf .id)" '{"status":"acknowledged"}'
dead3() { api "$ADMIN" GET "/api/v1/notifications?account=$ACC3&status=dead"; [ "$(jf '.items | length')" -ge 1 ]; }
check "without an e-mail channel the notification is recorded dead" wait_until 10 dead3
like "$(jf '.items[0].last_error')" "no e-mail channel for account $ACC3" "naming the missing channel"
ID3=$(jf '.items[0].id')
api "$ADMIN" POST /api/v1/channels "{\"name\":\"mail3\",\"type\":\"email\",\"account\":\"$ACC3\",\"smtp_url\":\"smtp://127.0.0.1:$P1\",\"from\":\"support@flywheel.test\",\"customer_updates\":true}"
api "$ADMIN" POST "/api/v1/notifications/$ID3/retry"
check "after adding a channel the retry delivers it" wait_until 15 eval 'grep -q "^X-RcptTo: erin@example.com" "$MD"/new/* 2>/dev/null'
done_testing
