#!/usr/bin/env bash
# The compatible APIs authenticate like the rest: a revoked token stops working at once, for bearer
# and for basic auth (amtool's URL credentials), with no cache window.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
mk_account 111111111111
mk_principal prom '[{"account":"111111111111","role":"operator"}]'; P=$PRN
api "$ADMIN" POST /api/v1/tokens "{\"principal\":\"$P\"}"; TOK=$(jf .token); TID=$(jf .id)
alert='[{"labels":{"alertname":"Revoked","job":"x"}}]'
post() { curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$@" --data-binary "$alert" "$FW_URL/api/v2/alerts"; }
is "$(post -H "Authorization: Bearer $TOK")" 200 "bearer token accepted by /api/v2/alerts"
is "$(post -u "ops:$TOK")" 200 "the same token as basic-auth password accepted"
is "$(curl -s -o /dev/null -w '%{http_code}' -u "ops:$TOK" "$FW_URL/api/v2/alerts")" 200 "GET /api/v2/alerts with basic auth"
api "$ADMIN" DELETE "/api/v1/tokens/$TID"; is "$STATUS" 200 "token revoked"
is "$(post -H "Authorization: Bearer $TOK")" 401 "revoked bearer token refused at once"
is "$(post -u "ops:$TOK")" 401 "revoked basic-auth token refused at once"
is "$(post)" 401 "no credentials: 401"
done_testing
