#!/usr/bin/env bash
# SIGTERM drains: while 16 clients keep writing, SIGTERM stops new connections, lets every request
# in flight finish and answer, and exits 0. No write commits without its client getting the answer.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
A=111111111111
mk_account $A
export A FW_PID
python3 - >"$TEST_DIR/result" <<'PY'
import http.client, json, os, signal, threading
host, port = os.environ["FW_URL"][7:].split(":")
tok, A, pid = os.environ["ADMIN"], os.environ["A"], int(os.environ["FW_PID"])
lock = threading.Lock(); acked = []; other = []; errs = []; sent = threading.Event()
def worker(w):
    c = http.client.HTTPConnection(host, int(port), timeout=20)
    h = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
    for i in range(300):
        try:
            c.request("POST", "/api/v1/incidents", json.dumps({"account": A, "title": "w%d i%d" % (w, i)}), h)
            r = c.getresponse(); body = r.read()
        except Exception as e:
            with lock: errs.append(type(e).__name__)
            return
        with lock:
            if r.status == 201:
                acked.append(json.loads(body)["id"])
                if len(acked) == 150 and not sent.is_set():
                    os.kill(pid, signal.SIGTERM); sent.set()
            else:
                other.append("%d %s" % (r.status, json.loads(body)["error"]["code"]))
ts = [threading.Thread(target=worker, args=(w,)) for w in range(16)]
[t.start() for t in ts]; [t.join() for t in ts]
print("acked", len(acked))
print("other", " ".join(sorted(set(other))) or "none")
print("errors", " ".join(sorted(set(errs))) or "none")
PY
wait "$FW_PID"; rc=$?; FW_PID=
is "$rc" 0 "SIGTERM during a write burst exits 0"
acked=$(awk '/^acked/{print $2}' "$TEST_DIR/result")
[ "$acked" -ge 150 ]; is "$?" 0 "writes were acknowledged up to the signal ($acked)"
stored=$(fw_sql "SELECT COUNT(*) FROM tickets")
is "$stored" "$acked" "every committed write was answered: no request was cut off after its commit"
like "$(grep ^other "$TEST_DIR/result")" '^other (none|503 shutting_down)$' "requests arriving while draining get 503 shutting_down, nothing else"
like "$(grep ^errors "$TEST_DIR/result")" '^errors (none|[A-Za-z ]*(Refused|Reset|Broken|Disconnected)[A-Za-z ]*)$' "clients then find the port closed"
grep -q '"msg":"stopped"' "$TEST_DIR/daemon.log"; is "$?" 0 "the daemon logs that it stopped"
fw_start; api "$ADMIN" GET /api/v1/audit/verify; is "$(jf .ok)" true "after the drain the audit chain is intact"
done_testing
