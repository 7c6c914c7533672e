#!/usr/bin/env bash
# Service requests: submitted → approved | partially_approved | denied → in_progress → fulfilled →
# closed; cancel while open, by the requester; approval needs the approver role.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
A=111111111111
mk_account $A
OP=$(user op $A operator); RQ=$(user rq $A requester); AP=$(user ap $A approver); VW=$(user vw $A viewer)
RQ_ID=$(api "$RQ" GET /api/v1/whoami; jf .id)
db() { fw_sql "$1"; }
new_sr() { api "$RQ" POST /api/v1/requests "{\"account\":\"$A\",\"title\":\"$1\",\"offering\":\"ood\",\"details\":{\"hours\":20}}"; SR=$(jf .id); }

new_sr "new VPN user"
is "$STATUS" 201 "a requester submits a service request"
like "$SR" '^SR-[0-9]+$' "request ids look like SR-n"
is "$(jf .status)/$(jf .requester)/$(jf .details.hours)/$(jf .offering)" "submitted/$RQ_ID/20/ood" "it starts submitted, with its requester, offering and details"
api "$VW" POST /api/v1/requests "{\"account\":\"$A\",\"title\":\"x\"}"
is "$STATUS" 403 "a viewer cannot submit"
api "$RQ" POST /api/v1/requests "{\"account\":\"$A\",\"title\":\"x\",\"details\":\"20h\"}"
is "$STATUS/$(jf .error.code)" 422/invalid_field "details must be an object"

api "$OP" PATCH "/api/v1/requests/$SR" '{"status":"approved"}'
is "$STATUS" 403 "an operator cannot approve a request"
api "$RQ" PATCH "/api/v1/requests/$SR" '{"status":"approved"}'
is "$STATUS" 403 "the requester cannot approve it either"
api "$AP" PATCH "/api/v1/requests/$SR" '{"status":"in_progress"}'
is "$STATUS" 409 "work cannot start before approval"
api "$AP" PATCH "/api/v1/requests/$SR" '{"status":"approved","note":"ok"}'
is "$STATUS/$(jf .status)" 200/approved "the approver approves"
api "$AP" PATCH "/api/v1/requests/$SR" '{"status":"in_progress"}'
is "$STATUS" 403 "an approver does not do the work"
api "$OP" PATCH "/api/v1/requests/$SR" '{"status":"in_progress","assignee":"op"}'
is "$STATUS/$(jf .status)" 200/in_progress "approved -> in_progress"
api "$OP" PATCH "/api/v1/requests/$SR" '{"status":"fulfilled","resolution":"account created"}'
is "$STATUS/$(jf .status)" 200/fulfilled "in_progress -> fulfilled"
api "$RQ" PATCH "/api/v1/requests/$SR" '{"status":"cancelled"}'
is "$STATUS" 409 "a fulfilled request cannot be cancelled"
api "$OP" PATCH "/api/v1/requests/$SR" '{"status":"closed"}'
is "$STATUS/$(jf .status)" 200/closed "fulfilled -> closed"
n=$(db "SELECT COUNT(*) FROM outbox WHERE recipient='$RQ_ID' AND topic='ticket.status_changed' AND payload LIKE '%\"$SR\"%'")
is "$n" 4 "the requester hears of each of the 4 status changes"

new_sr "more disk"
api "$AP" PATCH "/api/v1/requests/$SR" '{"status":"partially_approved","note":"10 of 20 hours"}'
is "$STATUS/$(jf .status)" 200/partially_approved "partial approval"
api "$OP" PATCH "/api/v1/requests/$SR" '{"status":"in_progress"}'
is "$(jf .status)" in_progress "partially_approved -> in_progress"
api "$RQ" PATCH "/api/v1/requests/$SR" '{"status":"cancelled"}'
is "$STATUS/$(jf .status)" 200/cancelled "the requester cancels while in progress"
api "$OP" PATCH "/api/v1/requests/$SR" '{"status":"in_progress"}'
is "$STATUS" 409 "cancelled is final"

new_sr "root access"
api "$AP" PATCH "/api/v1/requests/$SR" '{"status":"denied","note":"policy"}'
is "$STATUS/$(jf .status)" 200/denied "denial"
api "$RQ" PATCH "/api/v1/requests/$SR" '{"status":"cancelled"}'
is "$STATUS" 409 "a denied request is not open: no cancel"
api "$OP" PATCH "/api/v1/requests/$SR" '{"status":"closed"}'
is "$(jf .status)" closed "denied -> closed"
api "$RQ" GET "/api/v1/requests/$SR/timeline"
like "$(jf '[.items[] | select(.type=="status") | .body.note // empty] | join(",")')" policy "the denial note is on the public timeline"

new_sr "cancel me"
api "$RQ" PATCH "/api/v1/requests/$SR" '{"status":"cancelled"}'
is "$STATUS/$(jf .status)" 200/cancelled "the requester cancels a submitted request"
new_sr "cancel after approval"
api "$AP" PATCH "/api/v1/requests/$SR" '{"status":"approved"}'
api "$RQ" PATCH "/api/v1/requests/$SR" '{"status":"cancelled"}'
is "$STATUS/$(jf .status)" 200/cancelled "… or an approved one"
api "$RQ" PATCH "/api/v1/requests/$SR" '{"title":"renamed"}'
is "$STATUS" 403 "a requester cannot retitle a request"
new_sr "edit details"
api "$RQ" PATCH "/api/v1/requests/$SR" '{"details":{"hours":40},"description":"need more"}'
is "$STATUS/$(jf .details.hours)/$(jf .description)" "200/40/need more" "the requester may edit the description and details"
api "$ADMIN" GET /api/v1/audit/verify; is "$(jf .ok)" true "audit chain intact"
done_testing
