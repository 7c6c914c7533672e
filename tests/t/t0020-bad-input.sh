#!/usr/bin/env bash
# Bad input of every kind gets the right status and {"error":{"code","message"}} naming the field,
# writes nothing (row counts of every table are unchanged after each) and the daemon keeps serving.
. "$(dirname "$0")/../lib.sh"
printf 'limits:\n  body_max: 8k\n' >"$TEST_DIR/flywheel.yaml"
fw_start --config "$TEST_DIR/flywheel.yaml" || { fail "daemon starts"; done_testing; exit 1; }
A=111111111111 B=222222222222
mk_account $A; mk_account $B
VW=$(user vw $A viewer); OB=$(user ob $B operator)
api "$ADMIN" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"existing\"}"; INC=$(jf .id)
api "$ADMIN" POST /api/v1/changes "{\"account\":\"$A\",\"title\":\"c\"}"; CHG=$(jf .id)
counts() {
  fw_sql "SELECT (SELECT COUNT(*) FROM tickets)||'/'||(SELECT COUNT(*) FROM audit)||'/'||
    (SELECT COUNT(*) FROM timeline)||'/'||(SELECT COUNT(*) FROM outbox)||'/'||(SELECT COUNT(*) FROM accounts)||'/'||
    (SELECT COUNT(*) FROM principals)||'/'||(SELECT COUNT(*) FROM tokens)||'/'||(SELECT COUNT(*) FROM articles)||'/'||
    (SELECT COUNT(*) FROM ticket_links)||'/'||(SELECT COUNT(*) FROM role_bindings)||'/'||
    (SELECT group_concat(data, '') FROM tickets)"
}
# bad TOKEN METHOD PATH BODY STATUS CODE MESSAGE-REGEX DESCRIPTION
bad() {
  local before; before=$(counts)
  api "$1" "$2" "$3" "$4"
  is "$STATUS/$(jf .error.code 2>/dev/null)" "$5/$6" "$8"
  like "$(jf .error.message 2>/dev/null)" "$7" "… its message: $7"
  is "$(counts)" "$before" "… nothing was written"
}
I='/api/v1/incidents'
# malformed JSON
bad "$ADMIN" POST $I '{"account":' 400 invalid_json "malformed JSON at line 1" "truncated JSON"
bad "$ADMIN" POST $I "{\"account\":\"$A\",\"title\":\"x\",}" 400 invalid_json "line 1, column" "trailing comma"
bad "$ADMIN" POST $I "[{\"account\":\"$A\"}]" 400 invalid_json "JSON object" "an array body"
bad "$ADMIN" POST $I '' 400 invalid_json "empty" "an empty body"
bad "$ADMIN" POST $I "{\"account\":\"$A\",\"title\":\"x\",\"title\":\"y\"}" 400 invalid_json "title" "a duplicate key"
bad "$ADMIN" POST $I "$(printf '%.0s[' $(seq 3000))" 400 invalid_json "malformed|depth|nest" "3000 nested arrays"
bad "$ADMIN" PATCH $I/$INC 'not json' 400 invalid_json "malformed" "PATCH with garbage"
# bad UTF-8 and NUL
bad "$ADMIN" POST $I $'{"account":"'$A$'","title":"caf\xe9"}' 400 invalid_json "UTF-8|malformed" "Latin-1 bytes"
bad "$ADMIN" POST $I $'{"account":"'$A$'","title":"\xed\xa0\x80"}' 400 invalid_json "UTF-8|malformed" "an encoded surrogate"
bad "$ADMIN" POST $I "{\"account\":\"$A\",\"title\":\"a\\u0000b\"}" 400 invalid_json "u0000" "an escaped NUL"
# wrong types
bad "$ADMIN" POST $I "{\"account\":\"$A\",\"title\":5}" 422 invalid_field "field 'title' must be a string" "title as a number"
bad "$ADMIN" POST $I "{\"account\":$A,\"title\":\"x\"}" 422 invalid_field "field 'account' must be a string" "account as a number"
bad "$ADMIN" POST $I "{\"account\":\"$A\",\"title\":\"x\",\"impact\":[\"high\"]}" 422 invalid_field "'impact'" "impact as an array"
bad "$ADMIN" POST $I "{\"account\":\"$A\",\"title\":null}" 422 invalid_field "'title'" "title null"
bad "$ADMIN" PATCH $I/$INC '{"status":true}' 422 invalid_field "'status'" "status as a boolean"
bad "$ADMIN" POST /api/v1/changes "{\"account\":\"$A\",\"title\":\"x\",\"affected_resources\":[1]}" 422 invalid_field "affected_resources" "a resource as a number"
bad "$ADMIN" POST /api/v1/principals '{"name":"x","roles":{"account":"*"}}' 422 invalid_field "'roles'" "roles as an object"
# values out of range
bad "$ADMIN" POST $I "{\"account\":\"$A\",\"title\":\"x\",\"urgency\":\"extreme\"}" 422 invalid_field "allowed: high, medium, low" "urgency outside the scale"
bad "$ADMIN" POST $I '{"account":"12345","title":"x"}' 422 invalid_field "12-digit" "a short account id"
bad "$ADMIN" POST $I '{"account":"11111111111a","title":"x"}' 422 invalid_field "12-digit" "a non-digit account id"
bad "$ADMIN" POST /api/v1/accounts '{"id":"333333333333","name":"x","timezone":"Mars/Olympus"}' 422 invalid_field "timezone" "an unknown time zone"
bad "$ADMIN" POST /api/v1/accounts '{"id":"333333333333","name":"x","tier":"gold"}' 422 invalid_field "'tier'" "an unknown tier"
bad "$ADMIN" POST /api/v1/principals "{\"name\":\"x\",\"roles\":[{\"account\":\"$A\",\"role\":\"root\"}]}" 422 invalid_field "not a role" "an unknown role"
bad "$ADMIN" POST /api/v1/principals '{"name":"x","roles":[{"account":"333333333333","role":"viewer"}]}' 422 invalid_field "does not exist" "a role on an unknown account"
# unknown fields
bad "$ADMIN" POST $I "{\"account\":\"$A\",\"title\":\"x\",\"priority\":\"P1\"}" 422 unknown_field "'priority'" "priority is derived, not given"
bad "$ADMIN" POST $I "{\"account\":\"$A\",\"title\":\"x\",\"status\":\"closed\"}" 422 unknown_field "'status'" "a status on create"
bad "$ADMIN" PATCH $I/$INC '{"id":"INC-99"}' 422 unknown_field "'id'" "renaming the id"
bad "$ADMIN" PATCH $I/$INC '{"account":"222222222222"}' 422 unknown_field "'account'" "moving a ticket to another account"
bad "$ADMIN" POST /api/v1/accounts '{"id":"333333333333","name":"x","owner":"me"}' 422 unknown_field "'owner'" "an unknown account field"
# missing required
bad "$ADMIN" POST $I "{\"account\":\"$A\"}" 422 missing_field "'title'" "no title"
bad "$ADMIN" POST $I '{"title":"x"}' 422 missing_field "'account'" "no account"
bad "$ADMIN" POST /api/v1/accounts '{"id":"333333333333"}' 422 missing_field "'name'" "an account without a name"
bad "$ADMIN" POST /api/v1/tokens '{}' 422 missing_field "'principal'" "a token without a principal"
# over-long strings (bytes, not characters)
bad "$ADMIN" POST $I "{\"account\":\"$A\",\"title\":\"$(printf 'x%.0s' $(seq 201))\"}" 422 invalid_field "'title' is too long \(201 bytes; at most 200\)" "a 201-byte title"
bad "$ADMIN" POST $I "{\"account\":\"$A\",\"title\":\"$(printf 'é%.0s' $(seq 101))\"}" 422 invalid_field "'title' is too long \(202 bytes" "101 two-byte characters"
bad "$ADMIN" POST $I "{\"account\":\"$A\",\"title\":\"\"}" 422 invalid_field "'title' must not be empty" "an empty title"
# bodies over the configured limit (8k here)
big="{\"account\":\"$A\",\"title\":\"x\",\"description\":\"$(head -c 9000 /dev/zero | tr '\0' d)\"}"
bad "$ADMIN" POST $I "$big" 413 body_too_large "8192 bytes" "a 9 kB body with Content-Length"
before=$(counts)
printf %s "$big" >"$TEST_DIR/big.json"
st=$(curl -s -o "$TEST_DIR/body" -w '%{http_code}' -H "Authorization: Bearer $ADMIN" -H 'Transfer-Encoding: chunked' \
  -H 'Content-Type: application/json' --data-binary @"$TEST_DIR/big.json" "$FW_URL$I")
is "$st/$(jq -r .error.code "$TEST_DIR/body")" 413/body_too_large "a 9 kB chunked body (no Content-Length)"
is "$(counts)" "$before" "… nothing was written"
ok_body="{\"account\":\"$A\",\"title\":\"x\",\"description\":\"$(head -c 8000 /dev/zero | tr '\0' d)\"}"
api "$ADMIN" POST $I "$ok_body"; is "$STATUS" 201 "a body just under the limit is accepted"
# unknown ids, invalid transitions, wrong account or role
bad "$ADMIN" GET $I/INC-999999 "" 404 not_found "INC-999999" "an unknown incident"
bad "$ADMIN" PATCH $I/INC-999999 '{"title":"x"}' 404 not_found "not found" "PATCH of an unknown incident"
bad "$ADMIN" GET $I/garbage "" 404 not_found "not found" "a malformed id"
bad "$ADMIN" GET "$I/$(printf 'I%.0s' $(seq 3000))" "" 404 not_found "not found" "a 3000-byte id"
bad "$ADMIN" POST $I "{\"account\":\"333333333333\",\"title\":\"x\"}" 404 not_found "not found" "an unknown account"
bad "$ADMIN" PATCH $I/$INC '{"status":"closed"}' 409 invalid_transition "allowed: acknowledged" "new -> closed"
bad "$ADMIN" PATCH /api/v1/changes/$CHG '{"status":"executing","title":"renamed"}' 409 invalid_transition "not reachable" "draft -> executing with a field change"
bad "$VW" PATCH $I/$INC '{"title":"x"}' 403 forbidden "read-only" "a viewer's PATCH"
bad "$VW" POST $I "{\"account\":\"$A\",\"title\":\"x\"}" 403 forbidden "role" "a viewer's create"
bad "$OB" PATCH $I/$INC '{"title":"x"}' 404 not_found "not found" "another account's operator"
bad "$OB" POST $I "{\"account\":\"$A\",\"title\":\"x\"}" 404 not_found "not found" "creating in another account"
bad "" POST $I "{\"account\":\"$A\",\"title\":\"x\"}" 401 unauthorized "Bearer" "no token"
bad "fw_0000000000000000000000000000000000000000" POST $I "{\"account\":\"$A\",\"title\":\"x\"}" 401 unauthorized "unknown" "a made-up token"
# query parameters
api "$ADMIN" GET "$I?limit=99999999999999999999999"; is "$STATUS/$(jf .error.code)" 422/invalid_parameter "a huge limit"
api "$ADMIN" GET "$I?cursor=99999999999999999999999"; is "$STATUS/$(jf .error.code)" 422/invalid_parameter "a huge cursor"
api "$ADMIN" GET "$I?created_after=2026-13-01T00:00:00Z"; is "$STATUS" 422 "an impossible month"

api "" GET /healthz; is "$STATUS" 200 "the daemon keeps serving"
api "$ADMIN" GET "$I/$INC"; is "$(jf .title)/$(jf .status)" existing/new "the existing incident is untouched"
api "$ADMIN" GET /api/v1/audit/verify; is "$(jf .ok)" true "the audit chain is intact"
! grep -qi 'sanitizer\|runtime error' "$TEST_DIR/daemon.log"; is "$?" 0 "no sanitizer reports in the daemon log"
done_testing
