#!/usr/bin/env bash
# Who may act on Operations on Demand: an account for itself, a management account for its members,
# nobody else; reviewers need the approver role, work logs the operator role; the catalog is
# managed by global admins only.
. "$(dirname "$0")/../lib.sh"
export FLYWHEEL_CATALOG_DIR="$FW_ROOT/etc/catalog.d"
fw_start || { fail "daemon starts"; done_testing; exit 1; }

MGMT=100000000001 M2=100000000002 M3=100000000003 OTHER=200000000001
acct() { api "$ADMIN" POST /api/v1/accounts "{\"id\":\"$1\",\"name\":\"acct $1\",\"parent\":$2,\"plan\":\"$3\",\"timezone\":\"$4\"}"; }
acct $MGMT null advanced UTC; acct $M2 "\"$MGMT\"" advanced Europe/Berlin; acct $M3 "\"$MGMT\"" advanced UTC
acct $OTHER null advanced UTC
is "$STATUS" 201 "accounts created"
M2REQ=$(user m2-requester $M2 requester)
M2VIEW=$(user m2-viewer $M2 viewer)
M2OPS=$(user m2-operator $M2 operator)
M2APP=$(user m2-approver $M2 approver)
MGMTREQ=$(user mgmt-requester $MGMT requester)
OTHERREQ=$(user other-requester $OTHER requester)
START=$(date -u -d "+3 day" +%Y-%m-%d)
body() { echo "{\"account\":\"$1\",\"start_date\":\"$START\",\"offerings\":[{\"offering\":\"$2\",\"blocks\":1,\"accounts\":[$3]}]}"; }
count_eng() { api "$ADMIN" GET /api/v1/engagements; jf '.items | length'; }

# A member account for itself: yes. For its sibling: no, either way round.
api "$M2REQ" POST /api/v1/engagements "$(body $M2 legacy-os-upgrade "\"$M2\"")"
is "$STATUS" 201 "a member account requests for itself"
ENG=$(jf .id)
is "$(jf .timezone)" Europe/Berlin "the engagement keeps its account's time zone"
api "$M2REQ" POST /api/v1/engagements "$(body $M2 eks-cluster-maintenance "\"$M3\"")"
is "$STATUS $(jf .error.code)" "422 account_outside_organization" "a member account cannot cover its sibling"
like "$(jf .error.message)" "accounts\[0\]" "… the message names the field"
api "$M2REQ" POST /api/v1/engagements "$(body $M3 eks-cluster-maintenance "\"$M3\"")"
is "$STATUS" 404 "a member account cannot submit as its sibling (not found)"
api "$M2VIEW" POST /api/v1/engagements "$(body $M2 eks-cluster-maintenance "\"$M2\"")"
is "$STATUS" 403 "a viewer cannot request"
api "$OTHERREQ" POST /api/v1/engagements "$(body $OTHER eks-cluster-maintenance "\"$M2\"")"
is "$STATUS $(jf .error.code)" "422 account_outside_organization" "an unrelated account cannot cover another's account"
is "$(count_eng)" 1 "refused requests wrote nothing"

# The management account on behalf of both members.
api "$MGMTREQ" POST /api/v1/engagements "$(body $MGMT eks-cluster-maintenance "\"$M2\",\"$M3\"")"
is "$STATUS" 201 "the management account requests for its members"
MENG=$(jf .id)
is "$(jf '[.lines[].account] | join(",")')" "$M2,$M3" "… covering both members"

# Visibility and review.
api "$OTHERREQ" GET "/api/v1/engagements/$ENG"
is "$STATUS" 404 "another organization cannot see the engagement"
api "$OTHERREQ" GET "/api/v1/engagements"
is "$(jf '.items | length')" 0 "… nor list it"
api "$M2REQ" GET "/api/v1/engagements"
is "$(jf '[.items[].id] | join(",")')" "$ENG" "a member lists its own engagements"
api "$MGMTREQ" GET "/api/v1/engagements?limit=1"
is "$(jf '.items[0].id') $(jf '.next_cursor != null')" "$MENG true" "the management account lists its engagements, newest first, paged"
api "$MGMTREQ" GET "/api/v1/engagements?limit=1&cursor=$(jf .next_cursor)"
is "$(jf '[.items[].id] | join(",")') $(jf .next_cursor)" "$ENG null" "… including its member's, on the next page"
api "$MGMTREQ" GET "/api/v1/engagements/$ENG"
is "$STATUS" 200 "the management account sees its member's engagement"
api "$M2REQ" POST "/api/v1/engagements/$ENG/review" '{"decision":"approve"}'
is "$STATUS" 403 "a requester cannot approve"
api "$OTHERREQ" POST "/api/v1/engagements/$ENG/review" '{"decision":"approve"}'
is "$STATUS" 404 "an outsider cannot review (not found)"
api "$M2APP" POST "/api/v1/engagements/$ENG/review" '{"decision":"deny"}'
is "$STATUS $(jf .error.code)" "422 missing_field" "a denial needs a reason"
api "$M2APP" POST "/api/v1/engagements/$ENG/review" '{"decision":"approve"}'
is "$STATUS" 200 "the approver approves with the proposed start"
is "$(jf .status) $(jf .start_date)" "approved $START" "approved, start agreed"
api "$ADMIN" POST "/api/v1/engagements/$MENG/review" '{"decision":"deny","reason":"budget not confirmed"}'
is "$STATUS $(jf .status)" "200 denied" "deny with a reason"
is "$(jf .reason)" "budget not confirmed" "… the reason is kept"
api "$ADMIN" GET "/api/v1/requests/$(jf .request)"
is "$(jf .status)" denied "… and the service request is denied"

# Work logs need the operator role on the account.
api "$M2REQ" POST /api/v1/worklogs "{\"engagement\":\"$ENG\",\"offering\":\"legacy-os-upgrade\",\"account\":\"$M2\",\"start\":\"2026-01-01T00:00:00Z\",\"minutes\":10,\"description\":\"x\"}"
is "$STATUS" 403 "a requester cannot log time"
api "$M2OPS" POST /api/v1/worklogs "{\"engagement\":\"$MENG\",\"offering\":\"eks-cluster-maintenance\",\"account\":\"$M3\",\"start\":\"2026-01-01T00:00:00Z\",\"minutes\":10,\"description\":\"x\"}"
is "$STATUS" 404 "an operator of one member cannot log time for another"
api "$OTHERREQ" GET "/api/v1/invoices?account=$M2&month=2026-01"
is "$STATUS" 404 "an outsider cannot read the statement"

# Catalog management.
OFF='{"id":"backup-restore-drills","title":"Backup restore drills","description":"Quarterly restore tests.","expected_outcomes":["Restores proven"],"plans":["advanced"],"rate_per_block":"2000.00"}'
api "$M2APP" POST /api/v1/catalog/offerings "$OFF"
is "$STATUS" 403 "an account approver cannot add offerings"
api "$M2REQ" GET /api/v1/catalog/offerings/eks-cluster-maintenance
is "$STATUS $(jf .title)" "200 EKS cluster maintenance" "everyone can read an offering"
api "$ADMIN" POST /api/v1/catalog/offerings "$OFF"
is "$STATUS $(jf .rate_minor) $(jf .status)" "201 200000 available" "a global admin adds an offering"
api "$ADMIN" POST /api/v1/catalog/offerings "$OFF"
is "$STATUS" 409 "the same id twice is a conflict"
api "$ADMIN" PATCH /api/v1/catalog/offerings/backup-restore-drills '{"rate_per_block":2100.5,"status":"retired"}'
is "$STATUS $(jf .rate_per_block) $(jf .status)" "200 2100.50 retired" "a global admin changes rate and status"
api "$ADMIN" PATCH /api/v1/catalog/offerings/backup-restore-drills '{"plans":["gold"]}'
is "$STATUS $(jf .error.code)" "422 invalid_field" "unknown plans are refused"
api "$M2REQ" GET "/api/v1/catalog/offerings?plan=accelerate"
is "$(jf '[.items[].id] | index("priority-rfc-execution")')" null "filtering by plan leaves out advanced-only offerings"
api "$M2REQ" GET "/api/v1/catalog/offerings?status=retired"
is "$(jf '[.items[].id] | join(",")')" backup-restore-drills "filtering by status"
done_testing
