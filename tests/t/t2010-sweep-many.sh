#!/usr/bin/env bash
# The sweeper resolves expired alarms across the whole index: it scans in slices (releasing the lock
# in between so events do not wait for a scan of a million alarms), and alarms in every slice, not
# only the first, must resolve once their endsAt passed. 40,000 alarms fill an index of 65,536
# entries, two slices.
. "$(dirname "$0")/../lib.sh"
fw_start || exit 1
A=220000000010
mk_account $A
TOK=$(user sweeper $A operator)
N=40000
END=$(date -u -d '+20 sec' +%Y-%m-%dT%H:%M:%S.000Z)
python3 - "$FW_URL" "$TOK" "$N" "$END" <<'PY'
import http.client, sys, urllib.parse
url, tok, n, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
u = urllib.parse.urlparse(url)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
for b in range(0, n, 64):
    body = "[" + ",".join('{"labels":{"alertname":"Sweep%d","instance":"h%d"},"endsAt":"%s"}' % (i % 10, i, end)
                          for i in range(b, min(b + 64, n))) + "]"
    c.request("POST", "/api/v2/alerts", body, {"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    if r.status != 200:
        sys.exit("status %d" % r.status)
PY
is "$?" 0 "$N alarms posted"
firing() { curl -s -u "x:$TOK" "$FW_URL/api/v2/alerts?active=true" | jq length; }
is "$(firing)" "$N" "all of them firing before their endsAt"
# An incident resolves only when the sweeper has resolved every alarm of its group, and each group's
# alarms are spread over the whole index. (Listings hide expired alarms at once, so they would not
# show whether the sweeper got to them.)
resolved() { api "$TOK" GET "/api/v1/incidents?account=$A&limit=100"; jf '[.items[] | select(.status == "resolved")] | length'; }
got=0
for _ in $(seq 1 120); do got=$(resolved); [ "$got" = 10 ] && break; sleep 1; done
is "$got" 10 "the ten groups' incidents resolved: the sweeper resolved all $N alarms"
api "$TOK" GET "/api/v1/alarms?account=$A&status=firing&limit=10"
is "$(jf '.items | length')" 0 "no alarm left firing"
done_testing
