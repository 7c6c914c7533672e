#!/usr/bin/env bash
# 2xx means durable: many clients create and update tickets in parallel; the daemon is killed with
# SIGKILL while requests are still in flight; after a restart every acknowledged write is there.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
A=111111111111
mk_account $A
for i in 1 2 3 4 5 6 7 8 9 10; do api "$ADMIN" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"pre $i\"}"; done
export A FW_PID
python3 - >"$TEST_DIR/acked" <<'PY'
import http.client, json, os, signal, threading, time, sys
host, port = os.environ["FW_URL"][7:].split(":")
tok, A, pid = os.environ["ADMIN"], os.environ["A"], int(os.environ["FW_PID"])
lock = threading.Lock(); acked = []; killed = threading.Event(); KILL_AT = 400
def worker(w):
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    h = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
    for i in range(1000):
        if killed.is_set():
            return
        try:
            if i % 5 == 4 and i <= 10 * 5:   # some transitions of the pre-existing incidents
                inc = "INC-%d" % (1 + (w + i) % 10)
                c.request("POST", "/api/v1/incidents/%s/comments" % inc, json.dumps({"body": "w%d-%d" % (w, i)}), h)
                r = c.getresponse(); r.read()
                if r.status == 201:
                    with lock: acked.append(("comment", inc, "w%d-%d" % (w, i)))
                continue
            title = "burst w%d i%d" % (w, i)
            c.request("POST", "/api/v1/incidents", json.dumps({"account": A, "title": title}), h)
            r = c.getresponse(); body = r.read()
            if r.status == 201:
                with lock:
                    acked.append(("incident", json.loads(body)["id"], title))
                    if len(acked) >= KILL_AT and not killed.is_set():
                        os.kill(pid, signal.SIGKILL); killed.set()
        except Exception:
            return
ts = [threading.Thread(target=worker, args=(w,)) for w in range(16)]
[t.start() for t in ts]; [t.join() for t in ts]
for a in acked:
    print("\t".join(a))
PY
wait "$FW_PID" 2>/dev/null; rc=$?
is "$rc" 137 "the daemon was killed with SIGKILL mid-burst"
FW_PID=
n=$(grep -c '^incident' "$TEST_DIR/acked"); c=$(grep -c '^comment' "$TEST_DIR/acked")
[ $((n + c)) -ge 400 ]; is "$?" 0 "400 writes were acknowledged before the kill ($n creates, $c comments)"
fw_start || { fail "restart after kill -9"; done_testing; exit 1; }
ok "the daemon restarts after kill -9"
fw_sql "SELECT id, title FROM tickets" | tr '|' '\t' | sort >"$TEST_DIR/stored"
grep '^incident' "$TEST_DIR/acked" | cut -f2,3 | sort >"$TEST_DIR/want"
missing=$(comm -23 "$TEST_DIR/want" "$TEST_DIR/stored" | wc -l)
is "$missing" 0 "every acknowledged incident is there after the restart, with its title"
comm -23 "$TEST_DIR/want" "$TEST_DIR/stored" | head -5 | sed 's/^/#   missing: /'
fw_sql "SELECT $(fw_json_text body body) FROM timeline WHERE type='comment'" | sort >"$TEST_DIR/cstored"
missing=$(grep '^comment' "$TEST_DIR/acked" | cut -f3 | sort | comm -23 - "$TEST_DIR/cstored" | wc -l)
is "$missing" 0 "every acknowledged comment is there"
dups=$(cut -f1 "$TEST_DIR/stored" | uniq -d | wc -l); is "$dups" 0 "no id was handed out twice"
api "$ADMIN" GET /api/v1/audit/verify; is "$(jf .ok)" true "the audit chain survived the kill intact"
api "$ADMIN" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"after\"}"
is "$STATUS" 201 "new writes work after the restart"
n_ids=$(fw_sql "SELECT COUNT(*) FROM tickets WHERE id='$(jf .id)'"); is "$n_ids" 1 "… with a fresh id"
fw_stop; is "$?" 0 "SIGTERM after recovery exits 0"
done_testing
