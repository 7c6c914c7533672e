#!/usr/bin/env python3
"""Event latency while alert listings run (bench/ingest/run): one connection lists
GET /api/v2/alerts?filter=alertname="Load5" (a hundredth of load.py's alarms) again and again while
another posts a repeat of a firing alert every 10 ms. Listings take the engine's lock in slices and
let waiting events in between; this shows what an event waits for while amtool queries run.
Usage: listing.py URL TOKEN ACCOUNT SECONDS
Prints "POSTS P50 P99 MAX LISTINGS LISTING_MS MATCHES" with times in ms."""
import http.client, json, sys, threading, time, urllib.parse

url, token, account, secs = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
u = urllib.parse.urlparse(url)
hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
stop = time.time() + secs
lists = []


def lister():
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    while time.time() < stop:
        t = time.time()
        c.request("GET", "/api/v2/alerts?filter=alertname%3D%22Load5%22", headers=hdr)
        r = c.getresponse()
        body = r.read()
        lists.append((time.time() - t, len(json.loads(body)) if r.status == 200 else -1))


th = threading.Thread(target=lister)
th.start()
c = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
body = ('[{"labels":{"alertname":"Load7","instance":"host-7:9100","job":"node","account":"%s"},'
        '"annotations":{"summary":"load 7"},"startsAt":"2026-01-01T00:00:00.000Z",'
        '"endsAt":"2099-01-01T00:00:00.000Z"}]' % account)
lat = []
while time.time() < stop:
    t = time.time()
    c.request("POST", "/api/v2/alerts", body, hdr)
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("POST answered %d" % r.status)
    lat.append((time.time() - t) * 1000)
    time.sleep(0.01)
th.join()
lat.sort()
n = len(lists)
print("%d %.2f %.2f %.1f %d %.0f %d" % (len(lat), lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1], n,
                                        1000 * sum(l for l, _ in lists) / max(1, n), lists[0][1] if n else 0))
