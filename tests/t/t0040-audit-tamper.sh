#!/usr/bin/env bash
# The audit log: every mutation appends to the hash chain; GET /api/v1/audit lists it (admin and
# auditor only); GET /api/v1/audit/verify finds a row altered, deleted or inserted by hand with the
# sqlite3 CLI while the daemon runs, and names the first broken entry.
. "$(dirname "$0")/../lib.sh"
command -v sqlite3 >/dev/null || { [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null 2>&1; }
fw_start || { fail "daemon starts"; done_testing; exit 1; }
A=111111111111
mk_account $A
OP=$(user op $A operator); AU=$(user au $A auditor);
mk_principal gaud '[{"account":"*","role":"auditor"}]'; mk_token "$PRN"; GAU=$TOKEN
DB=$FW_DATA/flywheel.db
sq() { fw_sql "$1"; }

api "$OP" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"audited\"}"; I=$(jf .id)
api "$OP" PATCH "/api/v1/incidents/$I" '{"status":"acknowledged"}'
api "$OP" POST "/api/v1/incidents/$I/comments" '{"body":"x"}'
api "$ADMIN" GET "/api/v1/audit?object=$I"
is "$(jf '[.items[].action] | join(",")')" "ticket.comment,ticket.transition,ticket.create" "each mutation of the ticket is one audit entry, newest first"
is "$(jf '.items[1].actor')" "$(api "$OP" GET /api/v1/whoami; jf .id)" "entries name the actor"
like "$(jf '.items[1].before_digest')/$(jf '.items[1].after_digest')" '^[0-9a-f]{64}/[0-9a-f]{64}$' "a transition records digests of before and after"
api "$ADMIN" GET "/api/v1/audit?action=account.create"; is "$(jf '.items[0].object')" "$A" "filter by action"
api "$ADMIN" GET "/api/v1/audit?limit=2"; c=$(jf .next_cursor)
api "$ADMIN" GET "/api/v1/audit?limit=2&cursor=$c"; is "$(jf '.items | length')" 2 "the audit list paginates"
api "$OP" GET /api/v1/audit; is "$STATUS" 403 "an operator cannot read the audit log"
api "$AU" GET "/api/v1/audit?account=$A"; is "$STATUS" 200 "an account auditor reads its account's entries"
is "$(jf '[.items[].account] | unique | join(",")')" "$A" "… and only those"
api "$AU" GET /api/v1/audit/verify; is "$STATUS" 403 "verifying the whole chain needs a global role"
api "$GAU" GET /api/v1/audit/verify; is "$STATUS/$(jf .ok)" 200/true "a global auditor verifies: intact"
N=$(jf .entries)
is "$N" "$(sq 'SELECT COUNT(*) FROM audit')" "verify walked every entry"

verify() { api "$GAU" GET /api/v1/audit/verify; echo "$(jf .ok)/$(jf .problem)/$(jf .seq)"; }
S=$(sq "SELECT seq FROM audit WHERE object='$I' AND action='ticket.transition'")

# altered: one field of one row
orig=$(sq "SELECT actor FROM audit WHERE seq=$S")
sq "UPDATE audit SET actor='mallory' WHERE seq=$S"
is "$(verify)" "false/altered/$S" "an edited actor is found at its entry"
sq "UPDATE audit SET actor='$orig' WHERE seq=$S"
is "$(verify)" "true/null/null" "restoring it makes the chain whole again"
sq "UPDATE audit SET at=at-60000 WHERE seq=$S"
is "$(verify)" "false/altered/$S" "a back-dated entry is found"
sq "UPDATE audit SET at=at+60000 WHERE seq=$S"
orig=$(sq "SELECT object FROM audit WHERE seq=2")
sq "UPDATE audit SET object='INC-999' WHERE seq=2"
is "$(verify)" "false/altered/2" "an edit early in the chain is found there"
sq "UPDATE audit SET object='$orig' WHERE seq=2"
is "$(verify | cut -d/ -f1)" true "(restored)"

# removed: a row in the middle, then the last rows
sq "CREATE TABLE saved AS SELECT * FROM audit WHERE seq=$S"
sq "DELETE FROM audit WHERE seq=$S"
is "$(verify)" "false/removed/$S" "a deleted entry is found"
sq "INSERT INTO audit SELECT * FROM saved; DROP TABLE saved"
is "$(verify | cut -d/ -f1)" true "(restored)"
last=$(sq "SELECT MAX(seq) FROM audit")
sq "CREATE TABLE saved AS SELECT * FROM audit WHERE seq>=$((last - 1))"
sq "DELETE FROM audit WHERE seq>=$((last - 1))"
is "$(verify)" "false/truncated/$((last - 1))" "removing the last entries is found"
sq "INSERT INTO audit SELECT * FROM saved; DROP TABLE saved"
is "$(verify | cut -d/ -f1)" true "(restored)"

# inserted: a copy of a real row past the head, and a row squeezed in by renumbering
last=$(sq "SELECT MAX(seq) FROM audit")
sq "INSERT INTO audit SELECT seq+1, at, actor, account, action, object, before_digest, after_digest, hash, hash FROM audit WHERE seq=$last"
is "$(verify)" "false/inserted/$((last + 1))" "an entry added past the head is found"
sq "DELETE FROM audit WHERE seq=$((last + 1))"
sq "UPDATE audit SET seq=seq+100000 WHERE seq>$S; UPDATE audit SET seq=seq-99999 WHERE seq>100000"
sq "INSERT INTO audit SELECT $((S + 1)), at, 'mallory', account, 'ticket.delete', object, before_digest, after_digest, hash, hash FROM audit WHERE seq=$S"
like "$(verify)" "^false/(inserted|altered)/$((S + 1))$" "an entry squeezed into the middle (hash not recomputed) is found at its place"
sq "DELETE FROM audit WHERE seq=$((S + 1)); UPDATE audit SET seq=seq+100000 WHERE seq>$S; UPDATE audit SET seq=seq-100001 WHERE seq>100000"
is "$(verify | cut -d/ -f1)" true "(restored)"

api "$GAU" GET /api/v1/audit/verify; is "$(jf .entries)" "$N" "all $N entries verify again"
api "$OP" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"after\"}"; is "$STATUS" 201 "the daemon keeps appending after the checks"
is "$(verify | cut -d/ -f1)" true "… onto an intact chain"
# concurrent appends never make an intact chain look broken
pids=()
for i in $(seq 40); do
  curl -s -o /dev/null -X POST -H "Authorization: Bearer $OP" -H 'Content-Type: application/json' \
    --data "{\"account\":\"$A\",\"title\":\"c$i\"}" "$FW_URL/api/v1/incidents" &
  pids+=($!)
done
bad=0
for i in $(seq 10); do [ "$(verify | cut -d/ -f1)" = true ] || bad=$((bad + 1)); done
wait "${pids[@]}"
is "$bad" 0 "verify during a burst of writes reports an intact chain"
done_testing
