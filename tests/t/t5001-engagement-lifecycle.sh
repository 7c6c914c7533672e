#!/usr/bin/env bash
# Operations on Demand end to end: catalog → engagement request by a management account for its
# members → partial approval → monthly allocation by the scheduler (idempotent across restarts) →
# work logs → invoice (JSON, CSV, HTML) → a month with no hours → modification mid-month → opt-out.
. "$(dirname "$0")/../lib.sh"
export FLYWHEEL_CATALOG_DIR="$FW_ROOT/etc/catalog.d"
fw_start || { fail "daemon starts"; done_testing; exit 1; }

MGMT=100000000001 M2=100000000002 M3=100000000003
acct() { api "$ADMIN" POST /api/v1/accounts "{\"id\":\"$1\",\"name\":\"acct $1\",\"parent\":$2,\"plan\":\"$3\",\"timezone\":\"UTC\"}"; }
acct $MGMT null advanced; acct $M2 "\"$MGMT\"" advanced; acct $M3 "\"$MGMT\"" accelerate
is "$STATUS" 201 "accounts with plans created"
# Tokens without expiry: the test moves the daemon's clock months ahead.
user() { mk_principal "$1" "[{\"account\":\"$2\",\"role\":\"$3\"}]" >/dev/null &&
  api "$ADMIN" POST /api/v1/tokens "{\"principal\":\"$PRN\"}" && jf .token; }
REQ=$(user mgmt-requester $MGMT requester)
APP=$(user mgmt-approver $MGMT approver)
OPS=$(user mgmt-operator $MGMT operator)

# Months: T0 is the 1st of next month (UTC); the test moves the daemon's clock into it.
T0=$(date -u -d "$(date -u +%Y-%m-01) +1 month" +%Y-%m-%d)
M1=${T0:0:7}
T1=$(date -u -d "$T0 +1 month" +%Y-%m-%d); M2N=${T1:0:7}
T2=$(date -u -d "$T0 +2 month" +%Y-%m-%d); M3N=${T2:0:7}
ms() { echo $(( $(date -u -d "$1" +%s) * 1000 )); }
at() { echo $(( $(ms "$1") - $(date +%s%3N) )); }   # clock offset that puts "now" at $1
restart_at() { fw_stop; FLYWHEEL_CLOCK_OFFSET_MS=$(at "$1") fw_start; }

api "$REQ" GET /api/v1/catalog/offerings
is "$(jf '.items | length')" 10 "the default catalog has ten offerings"
is "$(jf '.items[] | select(.id=="priority-rfc-execution") | .plans | join(",")')" advanced "priority RFC execution is for the advanced plan"
is "$(jf '.items[] | select(.id=="priority-rfc-execution") | .response_objective')" 8h "priority RFC execution responds within 8 hours"
is "$(jf '.items[] | select(.id=="eks-cluster-maintenance") | .plans | join(",")')" accelerate,advanced "EKS maintenance is for both plans"
is "$(jf '.items[] | select(.id=="eks-cluster-maintenance") | .rate_per_block')" 3200.00 "rates come from catalog.d"

# The management account requests for its two members.
api "$REQ" POST /api/v1/engagements "{\"account\":\"$MGMT\",\"start_date\":\"$T0\",\"offerings\":[
  {\"offering\":\"eks-cluster-maintenance\",\"blocks\":2,\"accounts\":[\"$M2\",\"$M3\"]},
  {\"offering\":\"curated-change-execution\",\"blocks\":1,\"accounts\":[\"$M2\"]}]}"
is "$STATUS" 201 "management account submits an engagement for its members"
ENG=$(jf .id); SR=$(jf .request)
like "$ENG" '^ENG-[0-9]+$' "engagement id"
like "$SR" '^SR-[0-9]+$' "the engagement is a service request"
is "$(jf .status)" submitted "engagement starts submitted"
is "$(jf '.lines | length')" 3 "one line per offering and account"
api "$REQ" GET "/api/v1/requests/$SR"
is "$(jf .status)" submitted "the service request is submitted"
is "$(jf '.details.engagement')" "$ENG" "the service request names its engagement"
is "$(jf '[.links[] | select(.id=="'"$ENG"'")] | length')" 1 "the service request links the engagement"

# Partial approval: EKS for M3 gets 1 of 2 blocks, curated change execution is not approved.
api "$REQ" POST "/api/v1/engagements/$ENG/review" '{"decision":"approve"}'
is "$STATUS" 403 "a requester cannot review"
api "$APP" POST "/api/v1/engagements/$ENG/review" "{\"decision\":\"partially_approve\",\"reason\":\"one block is enough for the smaller cluster\",\"lines\":[
  {\"offering\":\"eks-cluster-maintenance\",\"account\":\"$M3\",\"blocks\":1},
  {\"offering\":\"curated-change-execution\",\"account\":\"$M2\",\"blocks\":0}]}"
is "$STATUS" 200 "approver partially approves"
is "$(jf .status)" partially_approved "engagement is partially approved"
is "$(jf .start_date)" "$T0" "the proposed start date is agreed"
is "$(jf '.lines[] | select(.offering=="eks-cluster-maintenance" and .account=="'$M2'") | .approved_blocks')" 2 "EKS for M2 approved in full"
is "$(jf '.lines[] | select(.offering=="eks-cluster-maintenance" and .account=="'$M3'") | .approved_blocks')" 1 "EKS for M3 approved with 1 block"
is "$(jf '.lines[] | select(.offering=="curated-change-execution") | .approved_blocks')" 0 "curated change execution not approved"
is "$(jf '.allocations | length')" 0 "nothing is allocated before the start date"
api "$REQ" GET "/api/v1/requests/$SR"
is "$(jf .status)" partially_approved "the service request follows the review"
api "$APP" POST "/api/v1/engagements/$ENG/review" '{"decision":"approve","start_date":"'$T0'"}'
is "$STATUS" 409 "a reviewed engagement cannot be reviewed again"

# Into the first month: the scheduler allocates at start, once.
restart_at "$T0 10:00"
api "$REQ" GET "/api/v1/engagements/$ENG"
is "$(jf '[.allocations[] | select(.month=="'$M1'")] | length')" 2 "month 1 allocated for both approved lines"
is "$(jf '.allocations[] | select(.account=="'$M2'") | .blocks')" 2 "M2 gets 2 blocks"
restart_at "$T0 11:00"
api "$REQ" GET "/api/v1/engagements/$ENG"
is "$(jf '.allocations | length')" 2 "a second run allocates nothing more"
api "$ADMIN" GET "/api/v1/audit?action=allocation.create&limit=100"
n_alloc=$(jq '[.items[]? | select(.action=="allocation.create")] | length' <<<"$BODY")
[ "$STATUS" = 200 ] && is "$n_alloc" 2 "two allocation audit entries" || ok "audit listing not available (skipped)"

# Work logs.
api "$OPS" POST /api/v1/worklogs "{\"engagement\":\"$ENG\",\"offering\":\"eks-cluster-maintenance\",\"account\":\"$M2\",\"start\":\"${T0}T01:00:00Z\",\"minutes\":1500,\"description\":\"Upgrade control plane to 1.30\"}"
is "$STATUS" 201 "operator logs 25 hours for M2"
WL1=$(jf .id)
is "$(jf .month)" "$M1" "the log falls in month 1"
api "$OPS" POST /api/v1/worklogs "{\"engagement\":\"$ENG\",\"offering\":\"eks-cluster-maintenance\",\"account\":\"$M3\",\"start\":\"${T0}T02:00:00Z\",\"duration\":\"21h\",\"description\":\"Node group rotation\"}"
is "$STATUS" 422 "21 hours against a 1-block month is refused"
is "$(jf .error.code)" allocation_exceeded "… as allocation_exceeded"
like "$(jf .error.message)" "1200 minutes allocated" "… naming the allocation"
api "$OPS" POST /api/v1/worklogs "{\"engagement\":\"$ENG\",\"offering\":\"eks-cluster-maintenance\",\"account\":\"$M3\",\"start\":\"${T0}T02:00:00Z\",\"duration\":\"20h\",\"description\":\"Node group rotation, \\\"blue/green\\\"\"}"
is "$STATUS" 201 "exactly the allocation is accepted"
api "$REQ" POST /api/v1/worklogs "{\"engagement\":\"$ENG\",\"offering\":\"eks-cluster-maintenance\",\"account\":\"$M2\",\"start\":\"${T0}T03:00:00Z\",\"minutes\":30,\"description\":\"x\"}"
is "$STATUS" 403 "a requester cannot log time"

api "$OPS" GET "/api/v1/worklogs?engagement=$ENG&limit=1"
is "$(jf '.items | length') $(jf '.items[0].account')" "1 $M3" "work logs list newest first, one page"
api "$OPS" GET "/api/v1/worklogs?engagement=$ENG&limit=1&cursor=$(jf .next_cursor)"
is "$(jf '.items[0].id') $(jf .next_cursor)" "$WL1 null" "… the next page ends the list"

# Invoice for the member and for the management account.
api "$REQ" GET "/api/v1/invoices?account=$M2&month=$M1"
is "$STATUS" 200 "invoice answers"
is "$(jf '.lines | length')" 1 "M2's statement has its one line"
is "$(jf '.lines[0].allocated_blocks')" 2 "allocated 2"
is "$(jf '.lines[0].hours_used')" 25.00 "25 hours used"
is "$(jf '.lines[0].billed_blocks')" 2 "25 hours bill 2 blocks"
is "$(jf '.lines[0].amount')" 6400.00 "amount = 2 × 3200.00"
is "$(jf '.lines[0].worklogs[0].id')" "$WL1" "the work log behind the line"
api "$REQ" GET "/api/v1/invoices?account=$MGMT&month=$M1"
is "$(jf '.lines | length')" 2 "the management account's statement covers both members"
is "$(jf '.totals.USD')" 9600.00 "total 6400.00 + 3200.00"

curl -s -o "$TEST_DIR/inv.csv" -D "$TEST_DIR/inv.h" -H "Authorization: Bearer $REQ" "$FW_URL/api/v1/invoices?account=$MGMT&month=$M1&format=csv"
grep -qi '^content-type: text/csv' "$TEST_DIR/inv.h"; check "CSV has content type text/csv" test $? -eq 0
is "$(head -1 "$TEST_DIR/inv.csv" | tr -d '\r')" "month,account,engagement,offering,allocated_blocks,hours_used,billed_blocks,rate_per_block,amount,currency,worklog,worklog_start,worklog_hours,worklog_description,ticket,operator" "CSV header"
is "$(grep -c "^$M1,$M2,$ENG,eks-cluster-maintenance,2,25.00,2,3200.00,6400.00,USD,$WL1," "$TEST_DIR/inv.csv")" 1 "CSV row for M2 with its work log"
grep -q '"Node group rotation, ""blue/green"""' "$TEST_DIR/inv.csv"; check "CSV quotes commas and quotes" test $? -eq 0
curl -s -o "$TEST_DIR/inv.html" -H "Authorization: Bearer $REQ" -H "Accept: text/html" "$FW_URL/api/v1/invoices?account=$MGMT&month=$M1"
is "$(grep -o '<tr class="line">' "$TEST_DIR/inv.html" | wc -l)" 2 "HTML has one table row per line"
grep -q '<td>EKS cluster maintenance</td><td>'"$M2"'</td><td>'"$ENG"'</td><td class="n">2</td><td class="n">25.00</td><td class="n">2</td><td class="n">3200.00 USD</td><td class="n">6400.00 USD</td>' "$TEST_DIR/inv.html"
check "HTML row has allocated, hours, billed, rate and amount" test $? -eq 0
grep -q 'Node group rotation, &quot;blue/green&quot;' "$TEST_DIR/inv.html"; check "HTML escapes work log text" test $? -eq 0
grep -q '9600.00 USD' "$TEST_DIR/inv.html"; check "HTML shows the total" test $? -eq 0

# A price change mid-month applies from the next month.
api "$ADMIN" PATCH /api/v1/catalog/offerings/eks-cluster-maintenance '{"rate_per_block":"3500.00"}'
is "$STATUS $(jf .rate_per_block)" "200 3500.00" "admin raises the EKS rate mid-month"
api "$REQ" GET "/api/v1/invoices?account=$M2&month=$M1"
is "$(jf '.lines[0].rate_per_block') $(jf '.lines[0].amount')" "3200.00 6400.00" "month 1 keeps the rate it began with"

# Month 2 with no hours still bills one block; a raise mid-month applies to the whole month.
restart_at "$T1 09:00"
api "$REQ" GET "/api/v1/invoices?account=$M2&month=$M2N"
is "$(jf '.lines[0].billed_blocks')" 1 "a month with no hours bills one block"
is "$(jf '.lines[0].amount')" 3500.00 "… at the new rate, 3500.00"
api "$OPS" POST /api/v1/worklogs "{\"engagement\":\"$ENG\",\"offering\":\"eks-cluster-maintenance\",\"account\":\"$M2\",\"start\":\"${T1}T01:00:00Z\",\"minutes\":2700,\"description\":\"Add-on upgrades\"}"
is "$STATUS" 422 "45 hours do not fit 2 blocks"
MID=$(date -u -d "$T1 +14 day" +%Y-%m-%d)
api "$REQ" POST "/api/v1/engagements/$ENG/modifications" "{\"effective_date\":\"$MID\",\"reason\":\"migration project\",\"lines\":[{\"offering\":\"eks-cluster-maintenance\",\"account\":\"$M2\",\"blocks\":3}]}"
is "$STATUS" 201 "management account requests a modification"
MOD=$(jf .id); MSR=$(jf .request)
is "$(jf .status)" submitted "modification is submitted"
api "$REQ" POST "/api/v1/engagements/$ENG/modifications" "{\"effective_date\":\"$MID\",\"reason\":\"add the third member\",\"lines\":[{\"offering\":\"eks-cluster-maintenance\",\"account\":\"$M3\",\"blocks\":4}]}"
MOD2=$(jf .id)
api "$APP" POST "/api/v1/engagements/$ENG/modifications/$MOD2/review" '{"decision":"needs_scoping","reason":"quadrupling needs a scoping call"}'
is "$STATUS" 200 "reviewer marks a modification as needing scoping"
is "$(jf '.modifications[] | select(.id=="'$MOD2'") | .status')" needs_scoping "… its status is needs_scoping"
api "$APP" POST "/api/v1/engagements/$ENG/modifications/$MOD/review" '{"decision":"approve"}'
is "$STATUS" 200 "reviewer approves the raise"
is "$(jf '.allocations[] | select(.month=="'$M2N'" and .account=="'$M2'") | .blocks')" 3 "the raise applies to the whole month"
is "$(jf '.allocations[] | select(.month=="'$M2N'" and .account=="'$M3'") | .blocks')" 1 "the scoped modification changed nothing"
api "$REQ" GET "/api/v1/requests/$MSR"
is "$(jf .status)" approved "the modification's service request is approved"
api "$OPS" POST /api/v1/worklogs "{\"engagement\":\"$ENG\",\"offering\":\"eks-cluster-maintenance\",\"account\":\"$M2\",\"start\":\"${T1}T01:00:00Z\",\"minutes\":2700,\"description\":\"Add-on upgrades\"}"
is "$STATUS" 201 "after the raise 45 hours fit"
api "$REQ" GET "/api/v1/invoices?account=$M2&month=$M2N"
is "$(jf '.lines[0].allocated_blocks') $(jf '.lines[0].billed_blocks') $(jf '.lines[0].amount')" "3 3 10500.00" "month 2 bills 3 blocks after the raise"

# Opt-out from the start of month 3: nothing allocated, billed or loggable after it.
api "$REQ" POST "/api/v1/engagements/$ENG/opt-out" "{\"effective_date\":\"$T2\",\"reason\":\"project finished\"}"
is "$STATUS" 201 "management account opts out"
is "$(jf .kind) $(jf .status)" "opt_out approved" "the opt-out takes effect without review"
api "$REQ" POST "/api/v1/engagements/$ENG/opt-out" "{\"effective_date\":\"$T2\"}"
is "$STATUS" 409 "a second opt-out is refused"
restart_at "$T2 09:00"
api "$REQ" GET "/api/v1/engagements/$ENG"
is "$(jf '[.allocations[] | select(.month=="'$M3N'")] | length')" 0 "no allocation after the opt-out"
is "$(jf .end_date)" "$T2" "the engagement ends on the opt-out date"
api "$REQ" GET "/api/v1/invoices?account=$MGMT&month=$M3N"
is "$(jf '.lines | length')" 0 "nothing billed after the opt-out"
api "$OPS" POST /api/v1/worklogs "{\"engagement\":\"$ENG\",\"offering\":\"eks-cluster-maintenance\",\"account\":\"$M2\",\"start\":\"${T2}T01:00:00Z\",\"minutes\":60,\"description\":\"late\"}"
is "$STATUS $(jf .error.code)" "422 engagement_not_active" "no time can be logged after the opt-out"
api "$REQ" GET "/api/v1/invoices?account=$MGMT&month=$M2N"
is "$(jf '.totals.USD')" 14000.00 "month 2 stays billed: 10500.00 + 3500.00"
done_testing
