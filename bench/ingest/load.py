#!/usr/bin/env python3
"""Loads N distinct alerts once into /api/v2/alerts (flywheel's or Alertmanager's), in batches of 64
over a few keep-alive connections (bench/ingest/run). Usage: load.py URL TOKEN ACCOUNT N [CONNS]
TOKEN "-" sends no Authorization header. SHAPE=bench sends the label sets alerts.lua cycles through
(no account label), so that its runs find them already firing."""
import http.client, json, os, sys, threading, urllib.parse

url, token, account, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
conns = int(sys.argv[5]) if len(sys.argv) > 5 else 4
u = urllib.parse.urlparse(url)
batches = list(range(0, n, 64))
lock = threading.Lock()
errors = []

def load_alert(i):
    return ('{"labels":{"alertname":"Load%d","instance":"host-%d:9100","job":"node","account":"%s"},'
            '"annotations":{"summary":"load %d"},"startsAt":"2026-01-01T00:00:00.000Z","endsAt":"2099-01-01T00:00:00.000Z"}'
            % (i % 100, i, account, i))

def bench_alert(i):  # alerts.lua's alert(i)
    return ('{"labels":{"alertname":"Bench%d","instance":"host-%d:9100","job":"node","severity":"warning","cluster":"c%d"},'
            '"annotations":{"summary":"bench alert %d"},"startsAt":"2026-01-01T00:00:00.000Z","endsAt":"2099-01-01T00:00:00.000Z",'
            '"generatorURL":"http://prom:9090/graph?g0.expr=up"}' % (i % 50, i, i % 20, i))

alert = bench_alert if os.environ.get("SHAPE") == "bench" else load_alert

def worker():
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    hdr = {"Content-Type": "application/json"}
    if token != "-":
        hdr["Authorization"] = "Bearer " + token
    while True:
        with lock:
            if not batches:
                return
            b = batches.pop()
        body = "[" + ",".join(alert(i) for i in range(b, min(b + 64, n))) + "]"
        c.request("POST", "/api/v2/alerts", body, hdr)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            errors.append(r.status)

ts = [threading.Thread(target=worker) for _ in range(conns)]
for t in ts: t.start()
for t in ts: t.join()
if errors:
    print("errors:", len(errors), errors[:3], file=sys.stderr)
    sys.exit(1)
