#!/usr/bin/env bash
# Problem lifecycle: open → root_cause_identified → known_error → resolved → closed, reopen from
# resolved, operator-only transitions, incidents linked to the problem.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
A=111111111111
mk_account $A
OP=$(user op $A operator); RQ=$(user rq $A requester); AP=$(user ap $A approver)

api "$RQ" POST /api/v1/problems "{\"account\":\"$A\",\"title\":\"nightly job OOMs\"}"
is "$STATUS" 201 "a requester may report a problem"
api "$OP" POST /api/v1/problems "{\"account\":\"$A\",\"title\":\"disks fill up\",\"impact\":\"medium\",\"urgency\":\"low\"}"
is "$STATUS" 201 "operator opens a problem"
P=$(jf .id)
like "$P" '^PRB-[0-9]+$' "problem ids look like PRB-n"
is "$(jf .status)/$(jf .priority)" open/P4 "a problem starts open, with its priority"
api "$OP" POST /api/v1/problems "{\"account\":\"$A\",\"title\":\"x\",\"risk\":\"high\"}"
is "$STATUS/$(jf .error.code)" 422/unknown_field "change-only fields are refused on problems"
like "$(jf .error.message)" "'risk'" "… naming the field"

api "$OP" PATCH "/api/v1/problems/$P" '{"status":"closed"}'
is "$STATUS" 409 "open -> closed is refused"
like "$(jf .error.message)" "allowed: root_cause_identified, known_error, resolved" "… listing what is allowed"
api "$RQ" PATCH "/api/v1/problems/$P" '{"status":"root_cause_identified"}'
is "$STATUS" 403 "a requester cannot move a problem"
api "$AP" PATCH "/api/v1/problems/$P" '{"status":"root_cause_identified"}'
is "$STATUS" 403 "an approver cannot move a problem"
api "$OP" PATCH "/api/v1/problems/$P" '{"status":"root_cause_identified","description":"logrotate is disabled"}'
is "$STATUS/$(jf .status)" 200/root_cause_identified "open -> root_cause_identified"
api "$OP" PATCH "/api/v1/problems/$P" '{"status":"known_error","note":"workaround: rotate by hand"}'
is "$(jf .status)" known_error "root_cause_identified -> known_error"
api "$OP" PATCH "/api/v1/problems/$P" '{"status":"open"}'
is "$STATUS" 409 "known_error -> open is refused"
api "$OP" PATCH "/api/v1/problems/$P" '{"status":"resolved","resolution":"logrotate enabled fleet-wide"}'
is "$STATUS/$(jf .status)/$(jf .resolution)" "200/resolved/logrotate enabled fleet-wide" "known_error -> resolved with notes"
api "$OP" PATCH "/api/v1/problems/$P" '{"status":"open"}'
is "$STATUS/$(jf .status)" 200/open "a resolved problem can be reopened"
api "$OP" PATCH "/api/v1/problems/$P" '{"status":"resolved"}'
api "$OP" PATCH "/api/v1/problems/$P" '{"status":"closed"}'
is "$STATUS/$(jf .status)" 200/closed "resolved -> closed"
like "$(jf .closed_at)" '^20' "closed_at is recorded"
is "$(jf '.state_times | keys | sort | join(",")')" "closed,known_error,open,resolved,root_cause_identified" "the time of every state is kept"
api "$OP" PATCH "/api/v1/problems/$P" '{"status":"resolved"}'
is "$STATUS" 409 "closed is final"

# Incidents link to a problem; the problem lists them.
api "$OP" POST /api/v1/problems "{\"account\":\"$A\",\"title\":\"flaky DNS\"}"; P2=$(jf .id)
for i in 1 2 3; do
  api "$OP" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"dns timeout $i\"}"
  api "$OP" POST "/api/v1/incidents/$(jf .id)/links" "{\"ticket\":\"$P2\"}"
done
is "$STATUS" 201 "incidents are linked to the problem"
api "$OP" GET "/api/v1/problems/$P2"
is "$(jf '[.links[] | select(.direction=="in" and (.id|startswith("INC-")))] | length')" 3 "the problem shows its three incidents"
api "$OP" POST "/api/v1/problems/$P2/links" '{"ticket":"INC-1","type":"caused_by"}'
is "$STATUS/$(jf .type)" 201/caused_by "a link may carry its own type"
api "$OP" GET "/api/v1/problems/$P2/timeline"
is "$(jf '[.items[] | select(.type=="link")] | length')" 4 "each link is on the problem's timeline"
api "$OP" GET "/api/v1/problems?status=open"
is "$(jf '[.items[].id] | join(",")')" "$P2,PRB-1" "problems filter by status (newest first)"
api "$ADMIN" GET /api/v1/audit/verify; is "$(jf .ok)" true "audit chain intact"
done_testing
