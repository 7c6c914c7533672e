#!/usr/bin/env python3
"""Automation benchmark: (1) alarm arriving -> remediation step's process starting, p50/p99;
(2) sustained runs/s with 100 concurrent short runbooks. Starts its own daemon.
Usage: bench/automation/bench.py [path/to/flywheel] [alarms] [runs]"""
import json, os, socket, subprocess, sys, tempfile, threading, time, urllib.request

BIN = sys.argv[1] if len(sys.argv) > 1 else "build/flywheel"
ALARMS = int(sys.argv[2]) if len(sys.argv) > 2 else 200
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
CONC = 100

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

d = tempfile.mkdtemp(prefix="fw-bench-rb.")
port = free_port()
url = f"http://127.0.0.1:{port}"
log = open(os.path.join(d, "daemon.log"), "w")
proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", d + "/data"], stdout=log, stderr=log)
for _ in range(200):
    try:
        urllib.request.urlopen(url + "/healthz"); break
    except Exception:
        time.sleep(0.05)
tok = open(d + "/data/admin.token").read().strip()

def api(method, path, body=None):
    req = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

api("POST", "/api/v1/accounts", {"id": "999999999999", "name": "bench", "tier": "business", "timezone": "UTC"})
api("POST", "/api/v1/runbooks", {"yaml": """name: bench-fix
concurrency: 1000
circuit_breaker: {failures: 1000}
triggers: [{type: auto_remediation, match: {alertname: BenchDown}}]
steps: [{name: fix, type: exec, command: ["true"]}]
"""})
api("POST", "/api/v1/runbooks", {"yaml": """name: bench-run
concurrency: 1000
steps: [{name: a, type: exec, command: ["true"]}, {name: b, type: exec, command: ["true"]}]
"""})

def wait_done(eid):
    while True:
        s, b = api("GET", "/api/v1/executions/" + eid)
        if b["status"] in ("succeeded", "failed", "rolled_back", "cancelled"):
            return b
        time.sleep(0.002)

def parse_ts(s):
    import datetime
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()

# (1) latency: one alarm at a time, so each measures the path, not a queue.
lat = []
for i in range(ALARMS):
    t0 = time.time()
    s, b = api("POST", "/api/v1/automation/alarms", {"account": "999999999999", "labels": {"alertname": "BenchDown", "instance": f"i{i}"}})
    ex = wait_done(b["execution"])
    started = parse_ts(ex["steps"][0]["started_at"])
    lat.append((started - t0) * 1000.0)
lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"alarm -> step process started: n={len(lat)} p50={p(0.50):.1f} ms p99={p(0.99):.1f} ms max={lat[-1]:.1f} ms")

# (2) throughput: keep 100 runs in flight.
done = 0; lock = threading.Lock(); failed = 0
def worker(n):
    global done, failed
    for _ in range(n):
        s, b = api("POST", "/api/v1/runbooks/bench-run/executions", {})
        if s != 201:
            with lock: failed += 1
            continue
        ex = wait_done(b["id"])
        with lock:
            done += 1
            if ex["status"] != "succeeded": failed += 1
t0 = time.time()
ths = [threading.Thread(target=worker, args=(RUNS // CONC,)) for _ in range(CONC)]
for t in ths: t.start()
for t in ths: t.join()
el = time.time() - t0
print(f"sustained: {done} runs of a 2-step runbook, {CONC} concurrent, in {el:.2f} s = {done/el:.0f} runs/s ({failed} failed)")
proc.terminate(); proc.wait()
