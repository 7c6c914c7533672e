#!/usr/bin/env bash
# Ticket creates on SQLite are answered once they are in the redo log and applied right after:
# a read sees them at once; creates answered while another process held the database's write lock
# (so none of them was applied) come back after kill -9 at the next start, with their timeline,
# audit entries and numbers; a clean stop applies everything and removes the log; ?redo=off commits
# before answering and writes no log.
. "$(dirname "$0")/../lib.sh"
if [ -n "${FW_STORE_URL:-}" ]; then ok "skipped: the redo log is SQLite's"; done_testing; exit 0; fi
command -v sqlite3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null 2>&1
fw_start || { fail "daemon starts"; done_testing; exit 1; }
A=111111111111
mk_account $A
DB=$FW_DATA/flywheel.db
api "$ADMIN" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"first\"}"
is "$STATUS" 201 "a create is answered"
api "$ADMIN" GET "/api/v1/incidents/$(jf .id)"
is "$STATUS $(jf .title)" "200 first" "… and read back at once"
ls "$DB"-redo.* >/dev/null 2>&1; is "$?" 0 "the redo log lies beside the database"

# Another process takes the write lock: the daemon can append to its log but not apply.
python3 - "$DB" "$TEST_DIR" <<'PY' &
import os, sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
con.execute("BEGIN IMMEDIATE")
open(os.path.join(sys.argv[2], "locked"), "w").close()
for _ in range(600):
    if os.path.exists(os.path.join(sys.argv[2], "release")):
        break
    time.sleep(0.05)
con.execute("ROLLBACK")
PY
LOCKER=$!
for _ in $(seq 100); do [ -e "$TEST_DIR/locked" ] && break; sleep 0.05; done
codes=; ids=
for i in $(seq 1 20); do
  api "$ADMIN" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"locked $i\",\"impact\":\"high\",\"urgency\":\"high\"}"
  codes="$codes$STATUS "; ids="$ids$(jf .id) "
done
is "$codes" "$(printf '201 %.0s' $(seq 20))" "20 creates are answered while the database is locked"
is "$(echo $ids | awk '{print $1, $20}')" "INC-2 INC-21" "… numbered INC-2 to INC-21"
is "$(sqlite3 "$DB" 'SELECT COUNT(*) FROM tickets')" 1 "… and none of them is in the database yet"
metrics=$(curl -s -m 5 "$FW_URL/metrics")
like "$metrics" $'\nflywheel_store_async_pending 20\n' "/metrics answers meanwhile: 20 answered creates are pending"
like "$metrics" $'\nflywheel_store_async_writes_total 21\n' "… of 21 answered from the log since start"
fw_kill9
touch "$TEST_DIR/release"; wait "$LOCKER"

fw_start || { fail "restart after kill -9"; done_testing; exit 1; }
like "$(cat "$TEST_DIR/daemon.log")" 'applied 20 acknowledged writes from the redo log' "the restart applies the 20 from the log"
is "$(sqlite3 "$DB" "SELECT COUNT(*) FROM tickets WHERE title LIKE 'locked %'")" 20 "all 20 are in the database"
api "$ADMIN" GET /api/v1/incidents/INC-21
is "$STATUS $(jf .title) $(jf .priority)" "200 locked 20 P1" "INC-21 reads back with its title and priority"
api "$ADMIN" GET /api/v1/incidents/INC-21/timeline
is "$(jf '.items[0].type')" created "… with its timeline"
api "$ADMIN" GET "/api/v1/audit?limit=200"
is "$(jq '[.items[] | select(.action == "ticket.create")] | length' <<<"$BODY")" 21 "every create has its audit entry"
api "$ADMIN" GET /api/v1/audit/verify; is "$(jf .ok)" true "the audit chain verifies"
bad=$(sqlite3 -separator ' ' "$DB" "SELECT a.after_digest, hex(t.data) FROM audit a JOIN tickets t ON t.id = a.object
  WHERE a.action = 'ticket.create'" | python3 -c '
import hashlib, sys
print(sum(1 for l in sys.stdin if hashlib.sha256(bytes.fromhex(l.split()[1])).hexdigest() != l.split()[0]))')
is "$bad" 0 "each create audit digest is the SHA-256 of the ticket as stored"
api "$ADMIN" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"after\"}"
is "$STATUS $(jf .id)" "201 INC-22" "numbering goes on after the replayed creates"
api "$ADMIN" GET /api/v1/incidents/INC-22
like "$(curl -s "$FW_URL/metrics")" $'\nflywheel_store_async_pending 0\n' "nothing is pending once a read has seen the create"
fw_stop; is "$?" 0 "SIGTERM exits 0"
ls "$DB"-redo.* >/dev/null 2>&1; is "$?" 2 "a clean stop leaves no redo log"
fw_start --store "sqlite://$DB?redo=off" || { fail "start with redo=off"; done_testing; exit 1; }
api "$ADMIN" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"synchronous\"}"
is "$STATUS $(jf .id)" "201 INC-23" "with ?redo=off a create is answered"
ls "$DB"-redo.* >/dev/null 2>&1; is "$?" 2 "… and no redo log is written"
is "$(sqlite3 "$DB" "SELECT COUNT(*) FROM tickets WHERE id = 'INC-23'")" 1 "… because it is committed before the answer"
fw_stop
done_testing
