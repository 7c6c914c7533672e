#!/usr/bin/env python3
"""Event-to-incident latency (bench/ingest/run): posts single alerts with new label sets, one per
request (Alertmanager v2 POST /api/v2/alerts), at a steady rate. Each alert has its own alertname,
so under the default rule (group_by alertname) each one opens an incident; flywheel opens it in the
POST's own write and answers after COMMIT, so the POST's latency is the event-to-incident time.
At the end the incidents are counted (noise KPI of the day) to check every alert opened one.
With BGRATE > 0, another connection meanwhile re-sends 10,000 firing alerts in batches of 64 at
about BGRATE alerts/s, as Prometheus re-sends what is still firing (repeats: memory only, written
back by the engine's lazy checkpoint).
Usage: latency.py URL TOKEN ACCOUNT RATE COUNT [CONNS [BGRATE]]
Prints "p50 P99 MAX SENT INCIDENTS LATE" with times in ms."""
import http.client, json, sys, threading, time, urllib.parse

url, token, account = sys.argv[1], sys.argv[2], sys.argv[3]
rate, count = float(sys.argv[4]), int(sys.argv[5])
conns = int(sys.argv[6]) if len(sys.argv) > 6 else 4
bgrate = float(sys.argv[7]) if len(sys.argv) > 7 else 0
u = urllib.parse.urlparse(url)
hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
run = "%x" % int(time.time() * 1000)


def kpi_incidents():
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    c.request("GET", "/api/v1/kpis/noise?from=%s&to=%s" % (day, day), headers=hdr)
    r = c.getresponse()
    body = json.loads(r.read() or b"{}")
    items = body.get("items", body) if isinstance(body, dict) else body
    return sum(a.get("incidents", 0) for a in items if a.get("account") == account)


lat = []
late = [0]
errors = []
lock = threading.Lock()
start = time.monotonic() + 0.2


def worker(k):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    for i in range(k, count, conns):
        due = start + i / rate
        now = time.monotonic()
        if now < due:
            time.sleep(due - now)
        elif now - due > 0.001:
            with lock:
                late[0] += 1
        body = ('[{"labels":{"alertname":"Latency%s_%d","instance":"lat-%d:9100","job":"node","account":"%s"},'
                '"annotations":{"summary":"latency probe %d"}}]' % (run, i, i, account, i))
        t0 = time.perf_counter()
        c.request("POST", "/api/v2/alerts", body, hdr)
        r = c.getresponse()
        r.read()
        t1 = time.perf_counter()
        with lock:
            lat.append((t1 - t0) * 1000)
            if r.status != 200:
                errors.append(r.status)


done = threading.Event()


def background():
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    i = 0
    t = time.monotonic()
    while not done.is_set():
        body = "[" + ",".join(
            '{"labels":{"alertname":"Repeat%d","instance":"rep-%d:9100","job":"node","account":"%s"},'
            '"annotations":{"summary":"repeat %d"}}' % (j % 50, j, account, j)
            for j in range(i, i + 64)) + "]"
        i = (i + 64) % 10000
        c.request("POST", "/api/v2/alerts", body, hdr)
        c.getresponse().read()
        t += 64 / bgrate
        if t > time.monotonic():
            time.sleep(t - time.monotonic())


if bgrate > 0:
    bg = threading.Thread(target=background)
    bg.start()
    time.sleep(3)  # the first round opens the repeats' alarms; measure on repeats only
before = kpi_incidents()
start = time.monotonic() + 0.2
ts = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
for t in ts:
    t.start()
for t in ts:
    t.join()
done.set()
after = kpi_incidents()
if errors:
    print("errors:", len(errors), errors[:3], file=sys.stderr)
    sys.exit(1)
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))]
print("%.2f %.2f %.2f %d %d %d" % (pct(0.50), pct(0.99), lat[-1], len(lat), after - before, late[0]))
