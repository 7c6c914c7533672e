#!/usr/bin/env bash
# API tokens: shown once, stored hashed, revocable, expiring; who may mint them.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
A=111111111111 B=222222222222
mk_account $A; mk_account $B
db() { fw_sql "$1"; }
ADA=$(user ada $A admin); ADB=$(user adb $B admin)
mk_principal p1 "[{\"account\":\"$A\",\"role\":\"operator\"}]"; P1=$PRN

api "$ADA" POST /api/v1/tokens "{\"principal\":\"$P1\",\"name\":\"ci\",\"expires_in\":\"1h\"}"
is "$STATUS" 201 "an account admin mints a token for a principal of the account"
T1=$(jf .token); T1_ID=$(jf .id)
like "$T1" '^fw_[0-9a-f]{40}$' "the token is fw_ + 40 hex digits"
like "$(jf .expires_at)" '^20' "its expiry is shown"
is "$(db "SELECT COUNT(*) FROM tokens WHERE hash LIKE '%${T1#fw_}%' OR name LIKE '%${T1#fw_}%'")" 0 "the secret is not stored"
is "$(db "SELECT hash FROM tokens WHERE id='$T1_ID'")" "$(printf %s "$T1" | sha256sum | cut -d' ' -f1)" "its SHA-256 is"
api "$ADA" GET "/api/v1/tokens?principal=$P1"
is "$(jf '.items | length')/$(jf '.items[0].name')" 1/ci "tokens are listed with their name"
[[ "$BODY" == *'"hash"'* || "$BODY" == *'"token"'* ]]; is "$?" 1 "… without the secret or its hash"
[[ "$BODY" == *"${T1#fw_}"* ]]; is "$?" 1 "the listing does not contain the token"
api "$T1" GET /api/v1/whoami; is "$STATUS/$(jf .id)" "200/$P1" "the token works"
api "$ADB" GET "/api/v1/tokens?principal=$P1"; is "$(jf '.items | length')" 0 "B's admin does not see A's tokens"
api "$ADB" DELETE "/api/v1/tokens/$T1_ID"; is "$STATUS" 404 "… nor revoke them"
api "$ADB" POST /api/v1/tokens "{\"principal\":\"$P1\"}"; is "$STATUS" 404 "… nor mint them"

# Bad input.
for e in 0s -1h 5x 1y "" forever; do
  api "$ADA" POST /api/v1/tokens "{\"principal\":\"$P1\",\"expires_in\":\"$e\"}"
  is "$STATUS/$(jf .error.code)" 422/invalid_field "expires_in '$e' is refused"
done
api "$ADA" POST /api/v1/tokens '{"principal":"prn-nobody"}'; is "$STATUS" 404 "a token for an unknown principal: 404"
api "$ADA" POST /api/v1/tokens "{\"principal\":\"$P1\",\"scope\":\"all\"}"; is "$STATUS/$(jf .error.code)" 422/unknown_field "unknown fields are refused"
api "$ADA" POST /api/v1/tokens '{}'; is "$STATUS/$(jf .error.code)" 422/missing_field "principal is required"

# Revocation is immediate.
api "$ADA" POST /api/v1/tokens "{\"principal\":\"$P1\"}"; T2=$(jf .token); T2_ID=$(jf .id)
is "$(jf .expires_at)" null "a token without expires_in does not expire"
api "$T2" GET /api/v1/whoami; is "$STATUS" 200 "second token works"
api "$ADA" DELETE "/api/v1/tokens/$T2_ID"; is "$STATUS/$(jf .revoked)" 200/true "the admin revokes it"
api "$T2" GET /api/v1/whoami; is "$STATUS" 401 "a revoked token is refused at once"
api "$T2" GET /api/v1/incidents; is "$STATUS/$(jf .error.code)" 401/unauthorized "… everywhere"
api "$ADA" DELETE "/api/v1/tokens/$T2_ID"; is "$STATUS" 404 "revoking twice: 404"
api "$ADA" GET "/api/v1/tokens?principal=$P1"
like "$(jf ".items[] | select(.id==\"$T2_ID\") | .revoked_at")" '^20' "the listing shows when it was revoked"
api "$T1" GET /api/v1/whoami; is "$STATUS" 200 "other tokens of the principal still work"
api "$ADA" POST /api/v1/tokens "{\"principal\":\"$P1\"}"; T4=$(jf .token); T4_ID=$(jf .id)
api "$T1" DELETE "/api/v1/tokens/$T4_ID"; is "$STATUS" 200 "a principal may revoke its own tokens"
api "$T4" GET /api/v1/whoami; is "$STATUS" 401 "… and that one stops working"
api "$T1" DELETE "/api/v1/tokens/$(api "$ADA" GET "/api/v1/tokens?principal=$(api "$ADA" GET /api/v1/whoami; jf .id)"; jf '.items[0].id')"
is "$STATUS" 404 "an operator cannot revoke its admin's token"

# Expiry: one hour later the 1h token is refused, the one without expiry is not.
api "$ADA" POST /api/v1/tokens "{\"principal\":\"$P1\"}"; T3=$(jf .token)
fw_stop
FLYWHEEL_CLOCK_OFFSET_MS=$((3600 * 1000 + 60000)) fw_start
api "$T1" GET /api/v1/whoami; is "$STATUS" 401 "an expired token is refused"
api "$T3" GET /api/v1/whoami; is "$STATUS" 200 "a token without expiry still works"
api "$T2" GET /api/v1/whoami; is "$STATUS" 401 "a revoked token stays revoked after a restart"
fw_stop
fw_start

# Privilege: minting a token hands out every role of the principal, so an account admin may mint
# tokens only for principals whose roles all lie in accounts they administer.
mk_principal both "[{\"account\":\"$A\",\"role\":\"viewer\"},{\"account\":\"$B\",\"role\":\"admin\"}]"; BOTH=$PRN
api "$ADA" POST /api/v1/tokens "{\"principal\":\"$BOTH\"}"
is "$STATUS" 403 "A's admin cannot mint a token for a principal that is also B's admin"
api "$ADA" DELETE "/api/v1/principals/$BOTH/roles" "{\"roles\":[{\"account\":\"$B\",\"role\":\"admin\"}]}"
is "$STATUS" 403 "… nor strip its roles on B"
mk_principal glob '[{"account":"*","role":"viewer"}]'; G=$PRN
api "$ADA" POST /api/v1/tokens "{\"principal\":\"$G\"}"
is "$STATUS" 404 "A's admin cannot mint a token for a principal with roles on every account"
api "$ADMIN" POST /api/v1/tokens "{\"principal\":\"$BOTH\"}"; is "$STATUS" 201 "a global admin can"
SELF=$(user selfie $A viewer)
api "$SELF" POST /api/v1/tokens "{\"principal\":\"$(api "$SELF" GET /api/v1/whoami; jf .id)\",\"expires_in\":\"1d\"}"
is "$STATUS" 201 "anyone may mint a token for themselves"
api "$(jf .token)" GET /api/v1/incidents; is "$STATUS" 200 "… which carries their own roles"
api "$ADMIN" GET /api/v1/audit?action=token.revoke; is "$(jf '.items | length')" 2 "each revocation is audited"
api "$ADMIN" GET /api/v1/audit?action=token.create; like "$(jf '.items | length')" '^[0-9]+$' "token creation is audited"
[[ "$(jf '.items | length')" -ge 8 ]]; is "$?" 0 "… once per token"
done_testing
