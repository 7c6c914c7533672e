#!/usr/bin/env bash
# `aws support` against flywheel: cases are incidents and service requests of the key's account;
# communications are the public timeline both ways; pagination over 120+ cases; errors exit 254.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../aws.sh"

aws_setup us-west-2
# as KEY args…: `aws support` with KEY ("id secret"); sets OUT, ERR, RC.
as() { aws_run "$FW_URL/aws" support "$@"; }

fw_start || { fail "daemon starts"; done_testing; exit 1; }
A=111111111111; B=222222222222
mk_account $A; mk_account $B
mk_principal alice "[{\"account\":\"$A\",\"role\":\"requester\"}]"; ALICE=$(mkkey "$PRN"); ALICE_ID=$PRN
mk_principal opal "[{\"account\":\"$A\",\"role\":\"operator\"}]"; OPAL=$(mkkey "$PRN"); mk_token "$PRN"; OPAL_TOKEN=$TOKEN
mk_principal vic "[{\"account\":\"$A\",\"role\":\"viewer\"}]"; VIC=$(mkkey "$PRN")
mk_principal bob "[{\"account\":\"$B\",\"role\":\"requester\"}]"; BOB=$(mkkey "$PRN")
mk_principal multi "[{\"account\":\"$A\",\"role\":\"requester\"},{\"account\":\"$B\",\"role\":\"requester\"}]"
MULTI=$(mkkey "$PRN"); MULTI_B=$(mkkey "$PRN" "{\"account\":\"$B\"}")

# ---- create-case ----
as "$ALICE" create-case --subject "Database down" --communication-body "prod db unreachable since 10:02" \
  --service-code service-ams-operations-report-incident --severity-code urgent --category-code production-down \
  --cc-email-addresses dba@example.com
is "$RC" 0 "create-case (incident) succeeds"
INC_CASE=$(j .caseId)
like "$INC_CASE" "^case-$A-[0-9]{4}-[0-9a-f]{16}$" "case id has the documented form"
api "$ADMIN" GET "/api/v1/incidents?account=$A"
is "$(jf '.items | length')" 1 "the incident-report service code opened an incident"
INC=$(jf '.items[0].id')
is "$(jf '.items[0].severity') $(jf '.items[0].priority')" "high P1" "severity urgent maps to a high-severity P1 incident"
is "$(jf '.items[0].requester')" "$ALICE_ID" "the key's principal is the requester"
is "$(jf '.items[0].description')" "prod db unreachable since 10:02" "the first communication is the description"

as "$ALICE" create-case --subject "New IAM role" --communication-body "please create role x" \
  --service-code service-ams-operations-service-request --severity-code low
SR_CASE=$(j .caseId)
api "$ADMIN" GET "/api/v1/requests?account=$A"
is "$(jf '.items | length') $(jf '.items[0].severity')" "1 low" "another service code opened a low-severity service request"
SR=$(jf '.items[0].id')

as "$ALICE" create-case --subject "Critical thing" --communication-body "x" --severity-code critical
CRIT_CASE=$(j .caseId)
as "$ALICE" describe-cases --case-id-list "$CRIT_CASE"
is "$(j '.cases[0].severityCode')" critical "severity critical reads back as critical"

# ---- describe-cases ----
as "$ALICE" describe-cases --case-id-list "$INC_CASE"
is "$RC" 0 "describe-cases by id succeeds"
is "$(j '.cases[0].subject')" "Database down" "subject round-trips"
is "$(j '.cases[0].status')" opened "a new incident is an opened case"
is "$(j '.cases[0].severityCode')" urgent "severityCode round-trips"
is "$(j '.cases[0].serviceCode')" service-ams-operations-report-incident "serviceCode round-trips"
is "$(j '.cases[0].categoryCode')" production-down "categoryCode round-trips"
is "$(j '.cases[0].submittedBy')" alice@example.com "submittedBy is the principal's e-mail"
is "$(j '.cases[0].ccEmailAddresses[0]')" dba@example.com "cc addresses round-trip"
like "$(j '.cases[0].timeCreated')" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "timeCreated is an ISO string"
is "$(j '.cases[0].recentCommunications.communications[0].body')" "prod db unreachable since 10:02" "recent communications hold the first message"
as "$ALICE" describe-cases
is "$(j '.cases | length')" 3 "describe-cases lists the account's open cases"
as "$ALICE" describe-cases --display-id "$(j '.cases[0].displayId')"
is "$(j '.cases | length')" 1 "a case is found by its displayId"

# ---- communications, both directions ----
as "$ALICE" add-communication-to-case --case-id "$INC_CASE" --communication-body "still down at 10:30"
is "$(j .result)" true "add-communication-to-case returns result true"
api "$OPAL_TOKEN" GET "/api/v1/incidents/$INC/timeline"
is "$(jf '[.items[] | select(.type=="comment" and .visibility=="public")] | last | .body.body')" "still down at 10:30" "the communication is a public comment on the ticket"
api "$OPAL_TOKEN" POST "/api/v1/incidents/$INC/comments" '{"body":"we are failing over","visibility":"public"}'
api "$OPAL_TOKEN" POST "/api/v1/incidents/$INC/comments" '{"body":"internal: it was the disk","visibility":"internal"}'
as "$ALICE" describe-communications --case-id "$INC_CASE"
is "$(j '.communications | length')" 3 "describe-communications: the public comments only"
is "$(j '.communications[0].body')" "we are failing over" "newest first; an operator's public comment shows up"
is "$(j '.communications[0].submittedBy')" opal@example.com "the operator is named"
is "$(j '.communications[2].body')" "prod db unreachable since 10:02" "oldest last"
for i in $(seq 1 12); do api "$OPAL_TOKEN" POST "/api/v1/incidents/$INC/comments" "{\"body\":\"update $i\"}"; done
as "$ALICE" describe-communications --case-id "$INC_CASE" --page-size 10
is "$(j '.communications | length')" 15 "communications paginate (two pages of 10)"
is "$(j '.communications[0].body')" "update 12" "across pages, newest first"
as "$ALICE" describe-cases --case-id-list "$INC_CASE"
is "$(j '.cases[0].recentCommunications.communications | length')" 5 "a case carries its 5 most recent communications"
check "and a nextToken for the rest" test "$(j '.cases[0].recentCommunications.nextToken')" != null

# ---- status follows the ticket ----
api "$OPAL_TOKEN" PATCH "/api/v1/incidents/$INC" '{"status":"acknowledged"}'
as "$ALICE" describe-cases --case-id-list "$INC_CASE"
is "$(j '.cases[0].status')" work-in-progress "an acknowledged incident is work-in-progress"

# ---- resolve-case ----
as "$ALICE" resolve-case --case-id "$INC_CASE"
is "$RC" 254 "a requester cannot resolve an incident (exit 254)"
like "$ERR" '\(AccessDeniedException\)' "AccessDeniedException"
as "$OPAL" resolve-case --case-id "$INC_CASE"
is "$(j .initialCaseStatus) $(j .finalCaseStatus)" "work-in-progress resolved" "an operator resolves the case"
api "$ADMIN" GET "/api/v1/incidents/$INC"
is "$(jf .status)" resolved "the incident is resolved"
as "$OPAL" resolve-case --case-id "$INC_CASE"
is "$(j .initialCaseStatus) $(j .finalCaseStatus)" "resolved resolved" "resolving again changes nothing"
as "$ALICE" resolve-case --case-id "$SR_CASE"
is "$(j .initialCaseStatus)" opened "a requester resolves their own service request"
api "$ADMIN" GET "/api/v1/requests/$SR"
is "$(jf .status)" cancelled "the request is withdrawn (cancelled)"
as "$ALICE" describe-cases
is "$(j '[.cases[].caseId] | join(",")')" "$CRIT_CASE" "resolved cases are left out by default"
as "$ALICE" describe-cases --include-resolved-cases
is "$(j '.cases | length')" 3 "--include-resolved-cases includes them"
is "$(j "[.cases[] | select(.caseId==\"$INC_CASE\")][0].status")" resolved "with status resolved"
api "$OPAL_TOKEN" PATCH "/api/v1/incidents/$INC" '{"status":"investigating"}'
as "$ALICE" describe-cases --case-id-list "$INC_CASE"
is "$(j '.cases[0].status')" reopened "a reopened incident is a reopened case"

# ---- errors ----
as "$ALICE" resolve-case --case-id case-111111111111-2020-00000000000fffff
is "$RC" 254 "unknown case id: exit 254"
like "$ERR" 'An error occurred \(CaseIdNotFound\) when calling the ResolveCase operation: Case case-' "unknown case id: CaseIdNotFound"
as "$ALICE" describe-cases --case-id-list not-a-case
like "$ERR" '\(CaseIdNotFound\)' "describe-cases with an unknown id: CaseIdNotFound"
as "$ALICE" describe-communications --case-id garbage
like "$ERR" '\(CaseIdNotFound\) when calling the DescribeCommunications' "describe-communications unknown id: CaseIdNotFound"
as "$ALICE" create-case --subject s --communication-body b --severity-code apocalyptic
is "$RC" 254 "an unknown severity code: exit 254"
as "$ALICE" create-case --subject s --communication-body b --attachment-set-id as-1
like "$ERR" '\(AttachmentSetIdNotFound\)' "attachments are not stored: AttachmentSetIdNotFound"

# ---- accounts and roles ----
as "$BOB" describe-cases --include-resolved-cases
is "$RC:$(j '.cases | length')" "0:0" "account B's key sees none of account A's cases"
as "$BOB" describe-communications --case-id "$INC_CASE"
like "$ERR" '\(CaseIdNotFound\)' "account B cannot read A's communications"
as "$BOB" add-communication-to-case --case-id "$CRIT_CASE" --communication-body "hi"
like "$ERR" '\(CaseIdNotFound\)' "account B cannot write to A's case"
as "$BOB" resolve-case --case-id "$CRIT_CASE"
like "$ERR" '\(CaseIdNotFound\)' "account B cannot resolve A's case"
as "$VIC" describe-cases
is "$(j '.cases | length')" 2 "a viewer of A sees A's open cases"
as "$VIC" create-case --subject s --communication-body b
like "$ERR" '\(AccessDeniedException\)' "a viewer cannot open a case"
as "$VIC" add-communication-to-case --case-id "$CRIT_CASE" --communication-body "hi"
like "$ERR" '\(AccessDeniedException\)' "a viewer cannot add communications"
as "$MULTI" create-case --subject s --communication-body b
is "$RC" 254 "a principal with two accounts and an unpinned key: exit 254"
like "$ERR" '\(ValidationException\).*access key with an "account"' "the error says how to choose the account"
as "$MULTI_B" create-case --subject "for B" --communication-body b
is "$RC" 0 "a key pinned to an account opens cases there"
api "$ADMIN" GET "/api/v1/incidents?account=$B"
is "$(jf '.items[0].title')" "for B" "the case landed in the pinned account"
as "$BOB" describe-cases
is "$(j '.cases[0].subject')" "for B" "account B's key sees B's case"

# ---- services ----
as "$ALICE" describe-services
like "$(j '[.services[].code] | join(",")')" 'service-ams-operations-report-incident' "describe-services names the incident service"
as "$ALICE" describe-services --service-code-list service-ams-operations-service-request
is "$(j '[.services[].code] | join(",")')" service-ams-operations-service-request "describe-services filters by code"

# ---- pagination across many pages ----
for i in $(seq 1 120); do
  curl -s -o /dev/null -X POST -H "Authorization: Bearer $OPAL_TOKEN" -H 'Content-Type: application/json' \
    --data "{\"account\":\"$A\",\"title\":\"bulk $i\",\"impact\":\"low\",\"urgency\":\"low\"}" "$FW_URL/api/v1/incidents"
done
as "$ALICE" describe-cases --page-size 10 --no-include-communications
is "$RC" 0 "describe-cases over 13 pages succeeds"
is "$(j '.cases | length')" 122 "the CLI follows nextToken through every page (120 + 2 open)"
is "$(j '[.cases[].caseId] | unique | length')" 122 "no case appears twice"
is "$(j '.cases[-1].caseId')" "$INC_CASE" "newest first; the oldest open case comes last"
as "$ALICE" describe-cases --max-items 25 --page-size 10
is "$(j '.cases | length')" 25 "--max-items stops early"
NT=$(j .NextToken)
check "and hands out a NextToken" test -n "$NT" -a "$NT" != null
as "$ALICE" describe-cases --starting-token "$NT" --page-size 10
is "$(j '.cases | length')" 97 "--starting-token resumes where it stopped"
as "$ALICE" describe-cases --after-time 2999-01-01T00:00:00Z
is "$(j '.cases | length')" 0 "afterTime filters by creation time"
as "$ALICE" describe-cases --before-time 2999-01-01 --page-size 100
is "$(j '.cases | length')" 122 "beforeTime accepts a date"

api "$ADMIN" GET "/api/v1/audit?object=$INC"
like "$(jf '[.items[].action] | join(",")')" 'ticket.create' "case creation is audited"
like "$(jf '[.items[].action] | join(",")')" 'ticket.comment' "communications are audited"
done_testing
