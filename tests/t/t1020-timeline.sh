#!/usr/bin/env bash
# Timeline: comments (public/internal), state and field changes with who and when, in order;
# the requester side sees the public part only; comment validation and permissions.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
A=111111111111 B=222222222222
mk_account $A; mk_account $B
OP=$(user op $A operator); RQ=$(user rq $A requester); VW=$(user vw $A viewer); OB=$(user ob $B operator)
AU=$(user au $A auditor)
OP_ID=$(api "$OP" GET /api/v1/whoami; jf .id); RQ_ID=$(api "$RQ" GET /api/v1/whoami; jf .id)

api "$RQ" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"site down\"}"; I=$(jf .id)
api "$OP" POST "/api/v1/incidents/$I/comments" '{"body":"looking at the LB logs","visibility":"internal"}'
is "$STATUS/$(jf .visibility)/$(jf .actor)" "201/internal/$OP_ID" "operator adds an internal note"
api "$OP" PATCH "/api/v1/incidents/$I" '{"status":"acknowledged","assignee":"op","note":"on it"}'
api "$OP" POST "/api/v1/incidents/$I/comments" '{"body":"We are on it."}'
is "$STATUS/$(jf .visibility)" 201/public "comments are public by default"
api "$RQ" POST "/api/v1/incidents/$I/comments" '{"body":"Thanks — ✓ still down for us"}'
is "$STATUS" 201 "the requester comments (UTF-8 kept)"
api "$RQ" POST "/api/v1/incidents/$I/comments" '{"body":"psst","visibility":"internal"}'
is "$STATUS" 403 "a requester cannot write internal notes"
api "$VW" POST "/api/v1/incidents/$I/comments" '{"body":"hi"}'
is "$STATUS" 403 "a viewer cannot comment"
api "$AU" POST "/api/v1/incidents/$I/comments" '{"body":"hi"}'
is "$STATUS" 403 "an auditor cannot comment"
api "$OB" POST "/api/v1/incidents/$I/comments" '{"body":"hi"}'
is "$STATUS" 404 "another account's operator: 404"
api "$OB" GET "/api/v1/incidents/$I/timeline"
is "$STATUS" 404 "… and cannot read the timeline"

api "$OP" GET "/api/v1/incidents/$I/timeline"
is "$STATUS" 200 "operator reads the timeline"
is "$(jf '[.items[].type] | join(",")')" "created,comment,field,status,comment,comment" "every event, in order"
is "$(jf '[.items[].n] | join(",")')" "1,2,3,4,5,6" "numbered without gaps"
is "$(jf '.items[0].actor')/$(jf '.items[1].actor')" "$RQ_ID/$OP_ID" "each entry names who"
like "$(jf '.items[3].at')" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "… and when (RFC 3339 UTC)"
is "$(jf '.items[2].body.field')/$(jf '.items[2].body.to')/$(jf '.items[2].body.from')" "assignee/op/null" "a field change records field, from and to"
is "$(jf '.items[3].body.from')/$(jf '.items[3].body.to')/$(jf '.items[3].body.note')" "new/acknowledged/on it" "a status change records from, to and the note"
is "$(jf '.items[5].body.body')" "Thanks — ✓ still down for us" "the comment text round-trips"
api "$AU" GET "/api/v1/incidents/$I/timeline"
is "$STATUS" 200 "an auditor reads the timeline"
api "$RQ" GET "/api/v1/incidents/$I/timeline"
is "$(jf '[.items[].type] | join(",")')" "created,status,comment,comment" "the requester sees the public timeline only"
is "$(jf '[.items[] | select(.visibility != "public")] | length')" 0 "… no internal entry leaks"
api "$VW" GET "/api/v1/incidents/$I/timeline"
is "$(jf '.items | length')" 4 "viewers see the public timeline too"
api "$OP" GET "/api/v1/incidents/$I"
like "$(jf .updated_at)" '^20' "the ticket has an updated_at"

n=$(fw_sql "SELECT COUNT(*) FROM outbox WHERE recipient='$RQ_ID' AND topic='ticket.commented'")
is "$n" 2 "the requester is notified of public comments only (2, not the internal note)"
n=$(fw_sql "SELECT COUNT(*) FROM audit WHERE action='ticket.comment' AND object='$I'")
is "$n" 3 "every comment is audited (3)"

# validation: nothing is written on a refused comment
before=$(api "$OP" GET "/api/v1/incidents/$I/timeline"; jf '.items | length')
api "$OP" POST "/api/v1/incidents/$I/comments" '{}'; is "$STATUS/$(jf .error.code)" 422/missing_field "a comment needs a body"
api "$OP" POST "/api/v1/incidents/$I/comments" '{"body":""}'; is "$STATUS" 422 "… a non-empty one"
api "$OP" POST "/api/v1/incidents/$I/comments" '{"body":"x","visibility":"secret"}'; is "$STATUS" 422 "visibility is public or internal"
api "$OP" POST "/api/v1/incidents/$I/comments" "{\"body\":\"$(head -c 20001 /dev/zero | tr '\0' x)\"}"
is "$STATUS" 422 "a body over 20000 bytes is refused"
like "$(jf .error.message)" "'body' is too long" "… naming the field"
api "$OP" POST "/api/v1/incidents/$I/comments" '{"body":"x","author":"me"}'; is "$STATUS/$(jf .error.code)" 422/unknown_field "unknown fields are refused"
api "$OP" POST "/api/v1/incidents/$I/comments" '{"body":5}'; is "$STATUS" 422 "the body must be a string"
api "$OP" POST /api/v1/incidents/INC-999/comments '{"body":"x"}'; is "$STATUS" 404 "comment on an unknown incident: 404"
api "$OP" POST "/api/v1/problems/$I/comments" '{"body":"x"}'; is "$STATUS" 404 "an incident is not a problem: 404"
after=$(api "$OP" GET "/api/v1/incidents/$I/timeline"; jf '.items | length')
is "$after" "$before" "refused comments leave the timeline as it was"

# other kinds have timelines too
api "$RQ" POST /api/v1/requests "{\"account\":\"$A\",\"title\":\"new laptop\"}"; S=$(jf .id)
api "$RQ" POST "/api/v1/requests/$S/comments" '{"body":"16GB please"}'; is "$STATUS" 201 "comments on service requests"
api "$RQ" GET "/api/v1/requests/$S/timeline"; is "$(jf '[.items[].type] | join(",")')" "created,comment" "a request's timeline"
api "$OP" POST /api/v1/changes "{\"account\":\"$A\",\"title\":\"c\"}"; C=$(jf .id)
api "$OP" PATCH "/api/v1/changes/$C" '{"risk":"high"}'
api "$OP" GET "/api/v1/changes/$C/timeline"; is "$(jf '.items[1].body.field')/$(jf '.items[1].body.to')" risk/high "a change's field edit is on its timeline"
done_testing
