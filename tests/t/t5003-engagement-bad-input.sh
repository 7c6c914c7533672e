#!/usr/bin/env bash
# Every bad input of Operations on Demand is refused with a clear error naming the field, and
# writes nothing: blocks ≤ 0, unknown or retired offerings, offerings outside the account's plan,
# accounts outside the organization, overlapping engagements, dates in the past, work logs outside
# the engagement or the month.
. "$(dirname "$0")/../lib.sh"
export FLYWHEEL_CATALOG_DIR="$FW_ROOT/etc/catalog.d"
fw_start || { fail "daemon starts"; done_testing; exit 1; }

A=300000000001 B=300000000002 NOPLAN=300000000003
acct() { api "$ADMIN" POST /api/v1/accounts "{\"id\":\"$1\",\"name\":\"acct $1\",\"parent\":null,\"plan\":$2,\"timezone\":\"UTC\"}"; }
acct $A '"accelerate"'; acct $B '"advanced"'; acct $NOPLAN null
is "$STATUS" 201 "accounts created"
user() { mk_principal "$1" "[{\"account\":\"$2\",\"role\":\"$3\"}]" >/dev/null &&
  api "$ADMIN" POST /api/v1/tokens "{\"principal\":\"$PRN\"}" && jf .token; }
REQ=$(user a-requester $A requester)
TODAY=$(date -u +%Y-%m-%d)
YESTERDAY=$(date -u -d "-1 day" +%Y-%m-%d)
snapshot() { api "$ADMIN" GET /api/v1/engagements; local e; e=$(jf '.items | length')
  api "$ADMIN" GET /api/v1/requests; echo "$e/$(jf '.items | length')"; }
BEFORE=$(snapshot)
req() { api "$REQ" POST /api/v1/engagements "{\"account\":\"$A\",\"start_date\":\"${2:-$TODAY}\",\"offerings\":[$1]}"; }

req '{"offering":"eks-cluster-maintenance","blocks":0}'
is "$STATUS $(jf .error.code)" "422 invalid_blocks" "0 blocks refused"
like "$(jf .error.message)" "offerings\[0\]\.blocks" "… naming the field"
req '{"offering":"eks-cluster-maintenance","blocks":-2}'
is "$STATUS $(jf .error.code)" "422 invalid_blocks" "negative blocks refused"
req '{"offering":"eks-cluster-maintenance","blocks":"2"}'
is "$STATUS $(jf .error.code)" "422 invalid_field" "blocks as a string refused"
req '{"offering":"moon-base-operations","blocks":1}'
is "$STATUS $(jf .error.code)" "422 unknown_offering" "unknown offering refused"
like "$(jf .error.message)" "moon-base-operations" "… naming it"
req '{"offering":"priority-rfc-execution","blocks":1}'
is "$STATUS $(jf .error.code)" "422 plan_not_eligible" "advanced-only offering refused for an accelerate account"
like "$(jf .error.message)" "accelerate plan" "… saying which plan"
api "$ADMIN" POST /api/v1/engagements "{\"account\":\"$NOPLAN\",\"offerings\":[{\"offering\":\"eks-cluster-maintenance\",\"blocks\":1}]}"
is "$STATUS $(jf .error.code)" "422 plan_not_eligible" "an account without a plan orders nothing"
req "{\"offering\":\"eks-cluster-maintenance\",\"blocks\":1,\"accounts\":[\"$B\"]}"
is "$STATUS $(jf .error.code)" "422 account_outside_organization" "account outside the organization refused"
req '{"offering":"eks-cluster-maintenance","blocks":1,"accounts":["12345"]}'
is "$STATUS $(jf .error.code)" "422 invalid_field" "malformed account id refused"
req "{\"offering\":\"eks-cluster-maintenance\",\"blocks\":1},{\"offering\":\"eks-cluster-maintenance\",\"blocks\":2}"
is "$STATUS $(jf .error.code)" "422 duplicate_line" "the same offering and account twice refused"
req '{"offering":"eks-cluster-maintenance","blocks":1}' "$YESTERDAY"
is "$STATUS $(jf .error.code)" "422 date_in_past" "a start date in the past refused"
req '{"offering":"eks-cluster-maintenance","blocks":1}' "2031-02-30"
is "$STATUS $(jf .error.code)" "422 invalid_date" "a date that does not exist refused"
req '{"offering":"eks-cluster-maintenance","blocks":1}' "next week"
is "$STATUS $(jf .error.code)" "422 invalid_date" "a malformed date refused"
api "$REQ" POST /api/v1/engagements "{\"account\":\"$A\",\"offerings\":[]}"
is "$STATUS" 422 "an engagement with no offerings refused"
api "$ADMIN" PATCH /api/v1/catalog/offerings/legacy-os-upgrade '{"status":"retired"}'
req '{"offering":"legacy-os-upgrade","blocks":1}'
is "$STATUS $(jf .error.code)" "422 offering_retired" "a retired offering refused"
is "$(snapshot)" "$BEFORE" "no engagement and no service request was written"

# Overlap with an engagement pending review, and with an approved one.
req '{"offering":"eks-cluster-maintenance","blocks":2}'
is "$STATUS" 201 "a valid engagement"
ENG=$(jf .id)
BEFORE=$(snapshot)
req '{"offering":"eks-cluster-maintenance","blocks":1}'
is "$STATUS $(jf .error.code)" "409 overlapping_engagement" "overlapping a pending engagement refused"
like "$(jf .error.message)" "$ENG" "… naming the engagement it overlaps"
is "$(snapshot)" "$BEFORE" "… nothing written"

# Review errors.
api "$ADMIN" POST "/api/v1/engagements/$ENG/review" '{"decision":"partially_approve","reason":"r","lines":[{"offering":"eks-cluster-maintenance","account":"'$A'","blocks":3}]}'
is "$STATUS $(jf .error.code)" "422 invalid_blocks" "approving more than requested refused"
api "$ADMIN" POST "/api/v1/engagements/$ENG/review" '{"decision":"partially_approve","reason":"r","lines":[{"offering":"ami-building-and-vending","account":"'$A'","blocks":1}]}'
is "$STATUS $(jf .error.code)" "422 unknown_line" "approving a line that was not requested refused"
api "$ADMIN" POST "/api/v1/engagements/$ENG/review" '{"decision":"approve","start_date":"'$YESTERDAY'"}'
is "$STATUS $(jf .error.code)" "422 date_in_past" "agreeing a start in the past refused"
api "$ADMIN" POST "/api/v1/engagements/$ENG/review" '{"decision":"maybe"}'
is "$STATUS" 422 "an unknown decision refused"
api "$ADMIN" GET "/api/v1/engagements/$ENG"
is "$(jf .status)" submitted "… still submitted"
api "$REQ" POST "/api/v1/engagements/$ENG/modifications" '{"effective_date":"'$TODAY'","lines":[{"offering":"eks-cluster-maintenance","account":"'$A'","blocks":3}]}'
is "$STATUS $(jf .error.code)" "409 invalid_transition" "a pending engagement cannot be modified"
api "$ADMIN" POST "/api/v1/engagements/$ENG/review" '{"decision":"approve"}'
is "$STATUS $(jf .status)" "200 approved" "approved, starting today"
is "$(jf '.allocations | length')" 1 "the current month is allocated at approval"
req '{"offering":"eks-cluster-maintenance","blocks":1}' "$(date -u -d '+40 day' +%Y-%m-%d)"
is "$STATUS $(jf .error.code)" "409 overlapping_engagement" "overlapping an approved engagement refused"

# Modification and opt-out errors.
BEFORE=$(snapshot)
api "$REQ" POST "/api/v1/engagements/$ENG/modifications" '{"effective_date":"'$YESTERDAY'","lines":[{"offering":"eks-cluster-maintenance","account":"'$A'","blocks":3}]}'
is "$STATUS $(jf .error.code)" "422 date_in_past" "a modification effective in the past refused"
like "$(jf .error.message)" "effective_date" "… naming the field"
api "$REQ" POST "/api/v1/engagements/$ENG/modifications" '{"effective_date":"'$TODAY'","lines":[{"offering":"eks-cluster-maintenance","account":"'$A'","blocks":0}]}'
is "$STATUS $(jf .error.code)" "422 invalid_blocks" "a modification to 0 blocks refused (that is an opt-out)"
api "$REQ" POST "/api/v1/engagements/$ENG/modifications" '{"effective_date":"'$TODAY'","lines":[{"offering":"sap-cluster-assist","account":"'$A'","blocks":1}]}'
is "$STATUS $(jf .error.code)" "422 unknown_line" "a modification adding an offering refused"
api "$REQ" POST "/api/v1/engagements/$ENG/opt-out" '{"effective_date":"'$YESTERDAY'"}'
is "$STATUS $(jf .error.code)" "422 date_in_past" "an opt-out effective in the past refused"
is "$(snapshot)" "$BEFORE" "… nothing written"

# Work logs outside the engagement, the month, or with bad values.
OPS=$(user a-operator $A operator)
wl() { api "$OPS" POST /api/v1/worklogs "{\"engagement\":\"${3:-$ENG}\",\"offering\":\"eks-cluster-maintenance\",\"account\":\"$A\",\"start\":\"$1\",\"minutes\":$2,\"description\":\"work\"}"; }
wl "${YESTERDAY}T12:00:00Z" 30
is "$STATUS $(jf .error.code)" "422 engagement_not_active" "a log before the start refused"
wl "$(date -u -d '+2 hour' +%Y-%m-%dT%H:%M:%SZ)" 30
is "$STATUS $(jf .error.code)" "422 invalid_field" "a log in the future refused"
wl "${TODAY}T00:00:00Z" 0
is "$STATUS $(jf .error.code)" "422 invalid_duration" "a log of 0 minutes refused"
wl "${TODAY}T00:00:00Z" 30 ENG-999
is "$STATUS $(jf .error.code)" "422 unknown_engagement" "a log against an unknown engagement refused"
api "$ADMIN" POST /api/v1/incidents "{\"account\":\"$B\",\"title\":\"elsewhere\"}"
api "$OPS" POST /api/v1/worklogs "{\"engagement\":\"$ENG\",\"offering\":\"eks-cluster-maintenance\",\"account\":\"$A\",\"start\":\"${TODAY}T00:00:00Z\",\"minutes\":5,\"description\":\"w\",\"ticket\":\"$(jf .id)\"}"
is "$STATUS $(jf .error.code)" "422 invalid_field" "a log linked to another account's ticket refused"
api "$OPS" GET "/api/v1/worklogs?engagement=$ENG"
is "$(jf '.items | length')" 0 "no work log was written"
api "$REQ" GET "/api/v1/invoices?account=$A&month=2026-13"
is "$STATUS" 422 "an invoice for month 13 refused"
api "$REQ" GET "/api/v1/invoices?account=$A"
is "$STATUS" 422 "an invoice without a month refused"

# An account in Berlin: its months start at local midnight (23:00Z or 22:00Z the day before).
BER=300000000004
api "$ADMIN" POST /api/v1/accounts "{\"id\":\"$BER\",\"name\":\"berlin\",\"parent\":null,\"plan\":\"advanced\",\"timezone\":\"Europe/Berlin\"}"
api "$ADMIN" POST /api/v1/engagements "{\"account\":\"$BER\",\"offerings\":[{\"offering\":\"control-tower-operations\",\"blocks\":1}]}"
BENG=$(jf .id)
api "$ADMIN" POST "/api/v1/engagements/$BENG/review" "{\"decision\":\"approve\",\"start_date\":\"$(TZ=Europe/Berlin date +%Y-%m-%d)\"}"
is "$STATUS" 200 "a Berlin engagement starting today (Berlin date)"

# A log that runs past the end of the month, seen from the first hour of the next month.
NEXT=$(date -u -d "$(date -u +%Y-%m-01) +1 month" +%Y-%m-%d)
LAST=$(date -u -d "$NEXT -1 day" +%Y-%m-%d)
fw_stop; FLYWHEEL_CLOCK_OFFSET_MS=$(( $(date -u -d "$NEXT 05:00" +%s) * 1000 - $(date +%s%3N) )) fw_start
wl "${LAST}T23:00:00Z" 180
is "$STATUS $(jf .error.code)" "422 outside_month" "a log crossing the month's end refused"
like "$(jf .error.message)" "split it" "… saying what to do"
wl "${LAST}T23:00:00Z" 60
is "$STATUS" 201 "the same log within the month is accepted"
wl "${NEXT}T00:00:00Z" 120
is "$STATUS $(jf .month)" "201 ${NEXT:0:7}" "the rest goes into the next month, allocated by the scheduler"
api "$ADMIN" POST /api/v1/worklogs "{\"engagement\":\"$BENG\",\"offering\":\"control-tower-operations\",\"account\":\"$BER\",\"start\":\"${LAST}T23:30:00Z\",\"minutes\":30,\"description\":\"after midnight in Berlin\"}"
is "$STATUS $(jf .month)" "201 ${NEXT:0:7}" "23:30Z on the last day is the next month in Berlin"
api "$ADMIN" POST /api/v1/worklogs "{\"engagement\":\"$BENG\",\"offering\":\"control-tower-operations\",\"account\":\"$BER\",\"start\":\"${LAST}T20:00:00Z\",\"minutes\":30,\"description\":\"evening in Berlin\"}"
is "$STATUS $(jf .month)" "201 $(date -u +%Y-%m)" "20:00Z on the last day is still this month in Berlin"
done_testing
