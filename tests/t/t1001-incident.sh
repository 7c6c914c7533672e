#!/usr/bin/env bash
# Incident lifecycle: priority from impact × urgency, every transition and who may make it,
# reopen, resolution notes, reclassification to a service request, problem links, articles.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
A=111111111111
mk_account $A
OP=$(user op $A operator); RQ=$(user rq $A requester); VW=$(user vw $A viewer)
api "$ADMIN" GET /api/v1/whoami; RQ_ID=$(api "$RQ" GET /api/v1/whoami; jf .id)
db() { fw_sql "$1"; }

# --- create, priority matrix
api "$RQ" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"disk full on db-1\",\"description\":\"/var is at 100%\",\"impact\":\"high\",\"urgency\":\"high\"}"
is "$STATUS" 201 "requester opens an incident"
INC=$(jf .id)
like "$INC" '^INC-[0-9]+$' "incident ids look like INC-n"
is "$(jf .status)" new "a new incident starts in 'new'"
is "$(jf .priority)/$(jf .severity)" P1/critical "high impact × high urgency is P1, severity critical"
is "$(jf .requester)" "$RQ_ID" "the customer who opens it is its requester"
is "$(jf .source)" customer "opened by a customer: source customer"
api "$RQ" GET "/api/v1/incidents/$INC"; is "$STATUS" 200 "GET by id"
is "$(jf .title)" "disk full on db-1" "GET returns what was stored"
api "$RQ" GET "/api/v1/tickets/$INC"; is "$(jf .kind)" incident "/tickets/{id} finds any kind"
api "$RQ" GET "/api/v1/problems/$INC"; is "$STATUS" 404 "an incident is not found under /problems"

for m in "high low P3" "medium high P2" "medium medium P3" "low low P4" "low high P3" "high medium P2"; do
  set -- $m
  api "$OP" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"prio $1 $2\",\"impact\":\"$1\",\"urgency\":\"$2\"}"
  is "$(jf .priority)" "$3" "impact $1 × urgency $2 = $3"
done
api "$OP" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"defaults\"}"
is "$(jf .priority)/$(jf .impact)/$(jf .urgency)/$(jf .source)" P3/medium/medium/api "defaults: medium × medium = P3; operators' incidents come from the api"
I2=$(jf .id)
api "$OP" PATCH "/api/v1/incidents/$I2" '{"impact":"high"}'
is "$(jf .priority)/$(jf .severity)" P2/high "raising impact recomputes priority and severity"
api "$OP" PATCH "/api/v1/incidents/$I2" '{"severity":"low"}'
api "$OP" PATCH "/api/v1/incidents/$I2" '{"urgency":"high"}'
is "$(jf .priority)/$(jf .severity)" P1/low "an explicitly set severity is kept when priority changes"

# --- transitions and roles
api "$RQ" PATCH "/api/v1/incidents/$INC" '{"status":"acknowledged"}'
is "$STATUS" 403 "a requester cannot acknowledge"
api "$VW" PATCH "/api/v1/incidents/$INC" '{"description":"x"}'
is "$STATUS" 403 "a viewer cannot change anything"
api "$OP" PATCH "/api/v1/incidents/$INC" '{"status":"closed","assignee":"op"}'
is "$STATUS" 409 "new -> closed is refused"
is "$(jf .error.code)" invalid_transition "… as invalid_transition"
like "$(jf .error.message)" "allowed: acknowledged, investigating, resolved" "… naming the allowed statuses"
api "$OP" GET "/api/v1/incidents/$INC"
is "$(jf .status)/$(jf '.assignee // "none"')" new/none "a refused PATCH writes nothing (not even its other fields)"
api "$OP" PATCH "/api/v1/incidents/$INC" '{"status":"bogus"}'
is "$STATUS/$(jf .error.code)" 422/invalid_field "an unknown status is 422"
api "$OP" PATCH "/api/v1/incidents/$INC" '{"status":"acknowledged","assignee":"op"}'
is "$STATUS/$(jf .status)/$(jf .assignee)" 200/acknowledged/op "operator acknowledges and assigns"
like "$(jf .acknowledged_at)" '^20[0-9-]+T' "acknowledged_at is recorded"
api "$OP" PATCH "/api/v1/incidents/$INC" '{"status":"investigating"}'; is "$(jf .status)" investigating "acknowledged -> investigating"
api "$OP" PATCH "/api/v1/incidents/$INC" '{"status":"resolved","resolution":"rotated logs, grew /var"}'
is "$STATUS/$(jf .status)" 200/resolved "investigating -> resolved"
is "$(jf .resolution)" "rotated logs, grew /var" "resolution notes are kept"
like "$(jf .resolved_at)" '^20' "resolved_at is recorded"
FIRST_RESOLVED=$(jf .resolved_at)
api "$RQ" PATCH "/api/v1/incidents/$INC" '{"status":"investigating","note":"still full"}'
is "$STATUS/$(jf .status)" 200/investigating "the requester reopens a resolved incident"
api "$OP" PATCH "/api/v1/incidents/$INC" '{"status":"resolved"}'
is "$(jf .resolved_at)" "$FIRST_RESOLVED" "resolved_at keeps the first resolution (MTTR)"
api "$OP" PATCH "/api/v1/incidents/$INC" '{"status":"closed"}'; is "$STATUS/$(jf .status)" 200/closed "resolved -> closed"
api "$OP" PATCH "/api/v1/incidents/$INC" '{"status":"investigating"}'
is "$STATUS" 409 "a closed incident cannot be reopened"
like "$(jf .error.message)" "none \(final status\)" "… and the message says it is final"
n=$(db "SELECT COUNT(*) FROM outbox WHERE recipient='$RQ_ID' AND topic='ticket.status_changed' AND payload LIKE '%$INC\"%'")
is "$n" 6 "the requester is told of every status change (6)"

# --- reclassify to a service request
api "$RQ" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"please add a user\",\"category\":\"access\"}"
I3=$(jf .id)
api "$RQ" POST "/api/v1/incidents/$I3/reclassify" '{}'
is "$STATUS" 403 "a requester cannot reclassify"
api "$OP" POST "/api/v1/incidents/$I3/reclassify" '{"note":"this is a request"}'
is "$STATUS" 201 "operator reclassifies an incident"
SR=$(jf .id)
like "$SR" '^SR-[0-9]+$' "… into a service request"
is "$(jf .reclassified_from)/$(jf .status)/$(jf .requester)/$(jf .title)" "$I3/submitted/$RQ_ID/please add a user" "the request links back, keeps requester and title"
api "$OP" GET "/api/v1/incidents/$I3"
is "$(jf .status)/$(jf .reclassified_to)" "reclassified/$SR" "the incident is closed as reclassified and points to the request"
is "$(jf "[.links[] | select(.id==\"$SR\")] | length")" 1 "the incident links to the request"
api "$RQ" GET "/api/v1/requests/$SR"
is "$STATUS/$(jf "[.links[] | select(.id==\"$I3\" and .direction==\"in\")] | length")" 200/1 "the requester sees the request, linked back to the incident"
n=$(db "SELECT COUNT(*) FROM outbox WHERE recipient='$RQ_ID' AND topic='ticket.reclassified' AND payload LIKE '%$SR%'")
is "$n" 1 "the requester is told about the reclassification"
api "$OP" POST "/api/v1/incidents/$I3/reclassify" ''
is "$STATUS" 409 "a reclassified incident cannot be reclassified again"
api "$OP" POST "/api/v1/incidents/$I2/reclassify" '{"bogus":1}'
is "$STATUS/$(jf .error.code)" 422/unknown_field "reclassify rejects unknown fields"

# --- problem links
api "$OP" POST /api/v1/problems "{\"account\":\"$A\",\"title\":\"disks fill up\"}"
PRB=$(jf .id)
api "$RQ" POST "/api/v1/incidents/$I2/links" "{\"ticket\":\"$PRB\"}"
is "$STATUS" 403 "a requester cannot link tickets"
api "$OP" POST "/api/v1/incidents/$I2/links" "{\"ticket\":\"$PRB\"}"
is "$STATUS/$(jf .type)" 201/problem "operator links an incident to a problem"
api "$OP" GET "/api/v1/incidents/$I2"
is "$(jf "[.links[] | select(.id==\"$PRB\" and .direction==\"out\" and .type==\"problem\")] | length")" 1 "the incident shows the problem"
api "$OP" GET "/api/v1/problems/$PRB"
is "$(jf "[.links[] | select(.id==\"$I2\" and .direction==\"in\")] | length")" 1 "the problem shows the incident"
api "$OP" POST "/api/v1/incidents/$I2/links" "{\"ticket\":\"$PRB\"}"
api "$OP" GET "/api/v1/problems/$PRB"; is "$(jf '.links | length')" 1 "linking twice keeps one link"
api "$OP" POST "/api/v1/incidents/$I2/links" '{"ticket":"PRB-999"}'; is "$STATUS" 404 "linking to an unknown ticket is 404"
api "$OP" POST "/api/v1/incidents/$I2/links" "{\"ticket\":\"$I2\"}"; is "$STATUS" 422 "a ticket cannot link to itself"
api "$OP" POST "/api/v1/incidents/$I2/links" "{\"ticket\":\"$PRB\",\"article\":\"KB-1\"}"; is "$STATUS" 422 "ticket and article together are refused"

# --- knowledge articles
api "$OP" POST /api/v1/articles "{\"incident\":\"$I2\"}"
is "$STATUS" 409 "an article needs a resolved incident"
api "$OP" POST /api/v1/articles "{\"incident\":\"$INC\"}"
is "$STATUS" 201 "an article is written from a closed incident"
KB=$(jf .id)
like "$KB" '^KB-[0-9]+$' "article ids look like KB-n"
like "$(jf .body)" "rotated logs, grew /var" "the article carries the resolution notes"
is "$(jf .source_ticket)/$(jf .account)/$(jf .title)" "$INC/$A/disk full on db-1" "… its source, account and title"
api "$RQ" POST /api/v1/articles "{\"account\":\"$A\",\"title\":\"t\",\"body\":\"b\"}"
is "$STATUS" 403 "a requester cannot write articles"
api "$OP" POST /api/v1/articles "{\"account\":\"$A\",\"title\":\"How to grow /var\",\"body\":\"lvextend …\"}"
is "$STATUS" 201 "an article can be written from scratch"
api "$RQ" GET "/api/v1/articles/$KB"; is "$STATUS/$(jf .id)" "200/$KB" "readers of the account read articles"
api "$RQ" GET "/api/v1/articles?q=GROW"; is "$(jf '.items | length')/$(jf '.items[0].title')" "1/How to grow /var" "articles search by title, case-insensitively"
api "$RQ" GET "/api/v1/articles?limit=1"; is "$(jf '.items | length')" 1 "articles paginate"
CUR=$(jf .next_cursor)
api "$RQ" GET "/api/v1/articles?limit=1&cursor=$CUR"; is "$(jf '.items[0].id')/$(jf .next_cursor)" "$KB/null" "… to the last page"
api "$OP" GET "/api/v1/incidents/$INC"
is "$(jf "[.links[] | select(.id==\"$KB\" and .type==\"article\")] | length")" 1 "the source incident links to its article"
api "$OP" POST "/api/v1/incidents/$I2/links" "{\"article\":\"$KB\"}"
is "$STATUS/$(jf .type)" 201/article "another incident links the article"
api "$OP" GET "/api/v1/incidents/$I2"
is "$(jf "[.links[] | select(.id==\"$KB\")] | length")" 1 "… and shows it"
api "$OP" POST "/api/v1/incidents/$I2/links" '{"article":"KB-999"}'; is "$STATUS" 404 "unknown article: 404"
api "$OP" GET /api/v1/articles/KB-999; is "$STATUS" 404 "GET unknown article: 404"

api "$ADMIN" GET /api/v1/audit/verify; is "$(jf .ok)" true "the audit chain verifies after all of it"
n=$(db "SELECT COUNT(*) FROM audit WHERE object='$INC'")
is "$n" 7 "every mutation of the incident is audited (create and 6 transitions)"
done_testing
