#!/usr/bin/env bash
# Refreshes of firing alarms (repeats) are written back lazily, every 10 s, and a write-back writes
# each alarm at most once even while the same alarms keep arriving: the checkpoint used to take
# slices off the live dirty list, which repeats refilled, so under steady resends it never finished
# and rewrote the same rows without pause. Also: the stored count catches up with the repeats.
. "$(dirname "$0")/../lib.sh"
fw_start || exit 1
A=220000000013
mk_account $A
TOK=$(user resender $A operator)
N=3000
metric() { curl -s "$FW_URL/metrics" | awk -v m="$1" '$1==m {print $2+0}'; }
# N alarms, resent in batches of 64 on 4 connections for 13 s: every alarm several times a second,
# and through at least one write-back tick (every 10 s).
python3 - "$FW_URL" "$TOK" "$N" 13 <<'PY'
import http.client, sys, threading, time, urllib.parse
url, tok, n, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
u = urllib.parse.urlparse(url)
bodies = ["[" + ",".join('{"labels":{"alertname":"Resend%d","instance":"h%d"},"annotations":{"summary":"s%d"}}' % (i % 7, i, i)
                         for i in range(b, min(b + 64, n))) + "]" for b in range(0, n, 64)]
stop = time.time() + secs
bad = []
def worker(k):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    j = k
    while time.time() < stop:
        c.request("POST", "/api/v2/alerts", bodies[j % len(bodies)], {"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
        r = c.getresponse(); r.read()
        if r.status != 200:
            bad.append(r.status)
        j += 4
ts = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
for t in ts: t.start()
for t in ts: t.join()
sys.exit(1 if bad else 0)
PY
is "$?" 0 "$N alarms resent for 13 s, every answer 200"
PASSES=$(metric flywheel_events_writeback_passes_total)
ROWS=$(metric flywheel_events_writeback_rows_total)
check "at least one write-back ran ($PASSES)" test "${PASSES:-0}" -ge 1
check "and wrote rows ($ROWS)" test "${ROWS:-0}" -ge 1
check "each write-back wrote an alarm at most once: $ROWS rows in $PASSES passes of at most $N" \
  test "${ROWS:-0}" -le $(( ${PASSES:-0} * N ))
MEM=$(curl -s -u "x:$TOK" "$FW_URL/api/v1/alarms?account=$A&filter=instance%3D%22h5%22" | jq '.items[0].count')
check "the alarm was counted in memory many times ($MEM)" test "${MEM:-0}" -ge 5
# The store catches up at the next write-back (at most 10 s later), and a SIGTERM writes the rest.
fw_stop
STORED=$(sqlite3 "$FW_DATA/flywheel.db" "SELECT count FROM evt_alarms WHERE account='$A' AND labels LIKE '%\"h5\"%'")
is "$STORED" "$MEM" "after a clean stop the stored count equals the count in memory"
done_testing
