#!/usr/bin/env bash
# E-mail over STARTTLS with SMTP AUTH against a real server (Debian's python3-aiosmtpd with a
# throwaway self-signed certificate): the mail arrives encrypted and authenticated with its plain-text
# and HTML parts; a wrong password ends as a visible dead delivery carrying the server's refusal; a
# channel that requires STARTTLS never falls back to plain text on a server without it; and the
# certificate is verified unless the channel says insecure_tls.
. "$(dirname "$0")/../lib.sh"
if ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-aiosmtpd >/dev/null 2>&1
fi
wait_until() { local t=$1; shift; for _ in $(seq 1 $((t * 10))); do "$@" && return 0; sleep 0.1; done; return 1; }
SPIDS=
trap 'kill $SPIDS 2>/dev/null; cleanup' EXIT

# The server: aiosmtpd's Mailbox handler into a Maildir, stamping each stored message with whether
# the session was TLS and who authenticated, so the test sees what actually happened on the wire.
# mode "tls": STARTTLS required before anything else, AUTH required and only over TLS, one account.
# mode "plain": no STARTTLS, no AUTH, accepts anything (a downgrade would be delivered here).
cat >"$TEST_DIR/smtpd.py" <<'EOF'
import asyncio, ssl, sys
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

port, maildir, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]

class Stamped(Mailbox):
    def prepare_message(self, session, envelope):
        m = super().prepare_message(session, envelope)
        m["X-Test-TLS"] = "yes" if session.ssl else "no"
        m["X-Test-Auth"] = str(session.auth_data) if session.authenticated else "none"
        return m

def authenticator(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"flywheel" and data.password == b"s3cret-pw"
    print("AUTH", mechanism, "ok" if ok else "refused", flush=True)
    return AuthResult(success=ok, handled=False, auth_data="flywheel" if ok else None)

kw = {}
if mode == "tls":
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    kw = dict(tls_context=ctx, require_starttls=True, authenticator=authenticator,
              auth_required=True, auth_require_tls=True)
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
handler = Stamped(maildir)
srv = loop.run_until_complete(loop.create_server(lambda: SMTP(handler, loop=loop, **kw), "127.0.0.1", port))
loop.run_forever()
EOF
start_smtp() { # port maildir mode [cert key]
  /usr/bin/python3 "$TEST_DIR/smtpd.py" "$@" >>"$TEST_DIR/smtpd-$1.log" 2>&1 &
  SPIDS="$SPIDS $!"
  wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}
mails() { ls "$1"/new 2>/dev/null | wc -l; }

check "a throwaway self-signed certificate" \
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$TEST_DIR/key.pem" -out "$TEST_DIR/cert.pem" 2>/dev/null
PT=$(free_port); PP=$(free_port)
MT="$TEST_DIR/maildir-tls"; MP="$TEST_DIR/maildir-plain"
check "the STARTTLS+AUTH SMTP server starts" start_smtp "$PT" "$MT" tls "$TEST_DIR/cert.pem" "$TEST_DIR/key.pem"
check "the plain SMTP server starts" start_smtp "$PP" "$MP" plain
# The servers really are what the cases below rely on (curl speaks SMTP too).
curl -s --max-time 5 "smtp://127.0.0.1:$PT" -X EHLO -v >"$TEST_DIR/probe-tls" 2>&1
like "$(cat "$TEST_DIR/probe-tls")" "250-STARTTLS" "the TLS server offers STARTTLS"
curl -s --max-time 5 "smtp://127.0.0.1:$PP" -X EHLO -v >"$TEST_DIR/probe-plain" 2>&1
check "the plain server does not offer STARTTLS" bash -c "grep -q '^< 250' '$TEST_DIR/probe-plain' && ! grep -q STARTTLS '$TEST_DIR/probe-plain'"

fw_start || { fail "daemon starts"; done_testing; exit 1; }

# channel NAME URL EXTRA_JSON -> prints the channel id. Failures retry fast and die after 2 attempts.
channel() {
  api "$ADMIN" POST /api/v1/channels "{\"name\":\"$1\",\"type\":\"email\",\"smtp_url\":\"$2\",\"from\":\"ops@flywheel.test\",\"backoff_ms\":50,\"backoff_max_ms\":100,\"max_attempts\":2,\"timeout_ms\":3000$3}"
  [ "$STATUS" = 201 ] || { echo "# channel $1: $STATUS $BODY" >&2; return 1; }
  jf .id
}
# send CHANNEL ADDRESS: a topic with one subscription to that channel and address, and one publish.
send() {
  api "$ADMIN" POST /api/v1/topics "{\"name\":\"t-$2\"}"
  local top; top=$(jf .id)
  api "$ADMIN" POST "/api/v1/topics/$top/subscriptions" "{\"channel\":\"$1\",\"endpoint\":\"$2\"}"
  [ "$STATUS" = 201 ] || { echo "# subscription: $STATUS $BODY"; return 1; }
  api "$ADMIN" POST "/api/v1/topics/$top/publish" "{\"event\":\"deploy.finished\",\"severity\":\"low\",\"data\":{\"note\":\"<i>tls</i> for $2\"}}"
  [ "$STATUS" = 202 ] || [ "$STATUS" = 201 ] || { echo "# publish: $STATUS $BODY"; return 1; }
}
# final CHANNEL: waits until the channel's one notification is delivered or dead; leaves it in BODY.
settled() { api "$ADMIN" GET "/api/v1/notifications?channel=$1"; [[ "$(jf '.items[0].status')" =~ ^(delivered|dead)$ ]]; }
final() {
  wait_until 20 settled "$1"; api "$ADMIN" GET "/api/v1/notifications/$(jf '.items[0].id')"
  echo "# $1: $(jf .status) after $(jf .attempts): $(jf '.last_error // ""')"
}
for_rcpt() { grep -l "^X-RcptTo: $2\$" "$1"/new/* 2>/dev/null; }

TLS="smtp://127.0.0.1:$PT"
GOOD=$(channel good "$TLS" ',"starttls":true,"insecure_tls":true,"username":"flywheel","password":"s3cret-pw"')
BADPW=$(channel badpw "$TLS" ',"starttls":true,"insecure_tls":true,"username":"flywheel","password":"wrong-pw"')
VERIFY=$(channel verify "$TLS" ',"starttls":true,"username":"flywheel","password":"s3cret-pw"')
NOTLS=$(channel notls "smtp://127.0.0.1:$PP" ',"starttls":true,"insecure_tls":true,"username":"flywheel","password":"s3cret-pw"')
PLAIN=$(channel plain "smtp://127.0.0.1:$PP" '')
check "five e-mail channels created" test -n "$GOOD" -a -n "$BADPW" -a -n "$VERIFY" -a -n "$NOTLS" -a -n "$PLAIN"

# --- STARTTLS + AUTH: delivered, over TLS, as the configured user, with both parts
send "$GOOD" good@example.com
final "$GOOD"
is "$(jf .status)" delivered "STARTTLS + AUTH: the notification is delivered"
is "$(jf .attempts)" 1 "on the first attempt"
F=$(for_rcpt "$MT" good@example.com)
check "the mail is in the TLS server's Maildir" test -n "$F" -a -f "${F%%$'\n'*}"
M=$(cat $F 2>/dev/null)
like "$M" $'\nX-Test-TLS: yes' "the session was encrypted (STARTTLS)"
like "$M" $'\nX-Test-Auth: flywheel' "the session authenticated as the channel's user"
like "$M" "multipart/alternative" "multipart/alternative body"
like "$M" "text/plain; charset=utf-8" "with a plain-text part"
like "$M" "text/html; charset=utf-8" "and an HTML part"
like "$M" "&lt;i&gt;tls&lt;/i&gt; for good@example.com" "the HTML part carries the escaped event data"
like "$M" "X-Flywheel-Idempotency-Key: ntf-[0-9a-f]{24}" "with the idempotency key header"

# --- a wrong password: refused by the server, retried to max_attempts, dead with the 535 in the log
send "$BADPW" badpw@example.com
final "$BADPW"
is "$(jf .status)" dead "wrong password: the notification ends dead, not lost"
is "$(jf .attempts)" 2 "after max_attempts (2)"
like "$(jf .last_error)" "SMTP: .*(ogin|uth).*reply 535" "last_error carries the SMTP refusal (535)"
is "$(jf '[.attempts_log[] | select(.status == "failed" and .code == 535)] | length')" 2 \
  "each attempt is in the delivery log with reply code 535"
like "$(jf '.attempts_log[0].error')" "SMTP" "and its error text"
api "$ADMIN" GET "/api/v1/notifications?status=dead"
like "$(jq -r --arg c "$BADPW" '[.items[] | select(.channel == $c)] | length' <<<"$BODY")" '^1$' \
  "the dead delivery is listed under status=dead"
is "$(grep -c 'AUTH .* refused' "$TEST_DIR/smtpd-$PT.log")" 2 "the server saw and refused both AUTH attempts"
is "$(for_rcpt "$MT" badpw@example.com | wc -l)" 0 "nothing was delivered with the wrong password"
ID=$(jq -r --arg c "$BADPW" '[.items[] | select(.channel == $c)][0].id' <<<"$BODY")
api "$ADMIN" PATCH "/api/v1/channels/$BADPW" '{"password":"s3cret-pw"}'
is "$STATUS" 200 "the channel's password is corrected"
api "$ADMIN" POST "/api/v1/notifications/$ID/retry"
is "$STATUS" 202 "and the dead notification retried"
final "$BADPW"
is "$(jf .status)/$(jf .attempts)" delivered/3 "it is delivered on the third attempt, with the new password"
is "$(for_rcpt "$MT" badpw@example.com | wc -l)" 1 "the mail arrives"

# --- certificate verification is on unless insecure_tls: a self-signed certificate is refused
send "$VERIFY" verify@example.com
final "$VERIFY"
is "$(jf .status)" dead "without insecure_tls the self-signed certificate is not trusted"
like "$(jf .last_error)" "SMTP: .*(certificate|SSL)" "the error names the certificate problem"
is "$(for_rcpt "$MT" verify@example.com | wc -l)" 0 "nothing was sent to an unverified server"

# --- a server without STARTTLS: refused, never a plain-text fallback (the plain server would accept it)
send "$NOTLS" notls@example.com
final "$NOTLS"
is "$(jf .status)" dead "starttls required, server without STARTTLS: dead"
like "$(jf .last_error)" "SMTP: .*(STARTTLS|SSL)" "the error says STARTTLS/TLS is unavailable"
send "$PLAIN" plain@example.com
final "$PLAIN"
is "$(jf .status)" delivered "control: the same server accepts a channel without starttls"
is "$(for_rcpt "$MP" plain@example.com | wc -l)" 1 "control: that mail arrived"
is "$(for_rcpt "$MP" notls@example.com | wc -l)" 0 "the STARTTLS channel sent nothing in plain text"
like "$(cat $(for_rcpt "$MP" plain@example.com) 2>/dev/null)" $'\nX-Test-TLS: no' "control: the plain server stamps plain text"

# --- secrets stay secret
api "$ADMIN" GET "/api/v1/channels/$GOOD"
is "$(jf '.config.password // "hidden"')" hidden "the SMTP password is not returned"
check "no password in the daemon log" bash -c "! grep -q -e s3cret-pw -e wrong-pw '$TEST_DIR/daemon.log'"
done_testing
