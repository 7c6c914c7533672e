#!/usr/bin/env bash
# Organizations: a management account's principals act on behalf of its member accounts; a
# member's principals are refused for a sibling (404) and for the management account; one level.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
M=100000000000 M1=100000000001 M2=100000000002 S=200000000000
mk_account $M; mk_account $M1 $M; mk_account $M2 $M; mk_account $S
is "$STATUS" 201 "accounts created"
OPM=$(user opm $M operator); ADM=$(user adm $M admin); AUM=$(user aum $M auditor)
OP1=$(user op1 $M1 operator); AD1=$(user ad1 $M1 admin)

api "$ADMIN" GET "/api/v1/accounts/$M"; is "$(jf '.members | join(",")')" "$M1,$M2" "the management account lists its members"
api "$ADMIN" GET "/api/v1/accounts/$M1"; is "$(jf .parent)" "$M" "a member names its parent"

# The management account acts for its members.
api "$OPM" POST /api/v1/incidents "{\"account\":\"$M1\",\"title\":\"in member 1\"}"
is "$STATUS" 201 "management operator opens an incident in member 1"; I1=$(jf .id)
api "$OPM" POST /api/v1/incidents "{\"account\":\"$M2\",\"title\":\"in member 2\"}"
is "$STATUS" 201 "… and in member 2"; I2=$(jf .id)
api "$OPM" PATCH "/api/v1/incidents/$I1" '{"status":"acknowledged"}'; is "$STATUS" 200 "… and works it"
api "$OPM" GET /api/v1/incidents; is "$(jf '[.items[].id] | sort | join(",")')" "$(printf '%s\n' $I1 $I2 | sort | paste -sd,)" "… and lists the members' incidents"
api "$OPM" GET "/api/v1/incidents?account=$M2"; is "$(jf '.items | length')" 1 "… filtered by member"
api "$OPM" GET /api/v1/accounts; is "$(jf '[.items[].id] | join(",")')" "$M,$M1,$M2" "… and sees the organization's accounts, not others"
api "$OPM" POST /api/v1/incidents "{\"account\":\"$S\",\"title\":\"x\"}"; is "$STATUS" 404 "but not a standalone account"
api "$ADM" POST /api/v1/accounts "{\"id\":\"100000000003\",\"name\":\"m3\",\"parent\":\"$M\"}"
is "$STATUS" 201 "the management admin adds a member account"
api "$ADM" POST /api/v1/accounts "{\"id\":\"200000000001\",\"name\":\"x\",\"parent\":\"$S\"}"
is "$STATUS" 403 "… but not under someone else's account"
api "$ADM" POST /api/v1/accounts '{"id":"300000000000","name":"x"}'
is "$STATUS" 403 "… nor a standalone account"
api "$ADM" POST /api/v1/principals "{\"name\":\"m1-viewer\",\"roles\":[{\"account\":\"$M1\",\"role\":\"viewer\"}]}"
is "$STATUS" 201 "the management admin grants roles on a member"
api "$ADM" POST /api/v1/principals "{\"name\":\"s-viewer\",\"roles\":[{\"account\":\"$S\",\"role\":\"viewer\"}]}"
is "$STATUS" 403 "… but not on an outside account"
api "$AUM" GET "/api/v1/audit?account=$M1"; is "$STATUS" 200 "the management auditor reads a member's audit log"
is "$(jf '[.items[].account] | unique | join(",")')" "$M1" "… with that member's entries only"
api "$ADM" PATCH "/api/v1/accounts/$M1" "{\"parent\":\"$S\"}"
is "$STATUS" 403 "moving a member to another organization needs a global admin"

# A member is refused for its sibling and for the management account.
api "$OP1" GET "/api/v1/incidents/$I2"; is "$STATUS" 404 "member 1 cannot see member 2's incident (404)"
api "$OP1" PATCH "/api/v1/incidents/$I2" '{"status":"acknowledged"}'; is "$STATUS" 404 "… nor change it"
api "$OP1" POST "/api/v1/incidents/$I2/comments" '{"body":"x"}'; is "$STATUS" 404 "… nor comment on it"
api "$OP1" POST /api/v1/incidents "{\"account\":\"$M2\",\"title\":\"x\"}"; is "$STATUS" 404 "… nor open one in member 2"
api "$OP1" GET "/api/v1/incidents?account=$M2"; is "$(jf '.items | length')" 0 "… nor list member 2"
api "$OP1" GET /api/v1/incidents; is "$(jf '[.items[].account] | unique | join(",")')" "$M1" "member 1 lists its own incidents only"
api "$OP1" GET "/api/v1/accounts/$M2"; is "$STATUS" 404 "member 2's account is not found for member 1"
api "$OP1" GET "/api/v1/accounts/$M"; is "$STATUS" 404 "nor is the management account"
api "$OP1" GET /api/v1/accounts; is "$(jf '[.items[].id] | join(",")')" "$M1" "member 1 lists only itself"
api "$OP1" POST /api/v1/incidents "{\"account\":\"$M\",\"title\":\"x\"}"; is "$STATUS" 404 "member 1 cannot open incidents in the management account"
api "$OPM" POST /api/v1/problems "{\"account\":\"$M\",\"title\":\"org-wide\"}"; P=$(jf .id)
api "$OP1" GET "/api/v1/problems/$P"; is "$STATUS" 404 "… nor read its problems"
api "$OP1" POST "/api/v1/incidents/$I1/links" "{\"ticket\":\"$P\"}"; is "$STATUS" 404 "… nor link to them"
api "$AD1" POST /api/v1/principals "{\"name\":\"sneaky\",\"roles\":[{\"account\":\"$M2\",\"role\":\"admin\"}]}"
is "$STATUS" 403 "member 1's admin cannot grant roles on member 2"
api "$AD1" POST /api/v1/accounts '{"id":"100000000009","name":"x"}'
is "$STATUS" 403 "member 1's admin cannot create standalone accounts"
api "$AD1" POST /api/v1/accounts "{\"id\":\"100000000009\",\"name\":\"x\",\"parent\":\"$M1\"}"
is "$STATUS" 422 "… nor members of member 1 (one level deep)"
api "$AD1" PATCH "/api/v1/accounts/$M2" '{"name":"pwned"}'; is "$STATUS" 404 "… nor rename its sibling"
api "$ADMIN" GET "/api/v1/accounts/$M2"; is "$(jf .name)" "acct $M2" "the sibling is unchanged"

# Organizations are one level deep.
api "$ADMIN" POST /api/v1/accounts "{\"id\":\"100000000010\",\"name\":\"x\",\"parent\":\"$M1\"}"
is "$STATUS" 422 "a member cannot have members"
api "$ADMIN" PATCH "/api/v1/accounts/$M" "{\"parent\":\"$S\"}"
is "$STATUS" 422 "an account with members cannot become a member"
api "$ADMIN" GET "/api/v1/accounts/$M"; is "$(jf '.parent // "none"')" none "… and stays top-level"
api "$ADMIN" PATCH "/api/v1/accounts/$M1" "{\"parent\":\"$M1\"}"; is "$STATUS" 422 "an account cannot be its own parent"
api "$ADMIN" POST /api/v1/accounts '{"id":"100000000011","name":"x","parent":"999999999999"}'
is "$STATUS" 422 "the parent must exist"
api "$ADMIN" PATCH "/api/v1/accounts/$M2" "{\"parent\":null}"; is "$STATUS/$(jf '.parent // "none"')" 200/none "a global admin detaches a member"
api "$OPM" GET "/api/v1/incidents/$I2"; is "$STATUS" 404 "… and the management account no longer sees it"
api "$ADMIN" GET /api/v1/audit/verify; is "$(jf .ok)" true "audit chain intact"
done_testing
