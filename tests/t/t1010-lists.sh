#!/usr/bin/env bash
# Ticket lists: filters by account, status, priority, assignee, group, q, created range; pagination
# with limit + cursor; bad parameters; other accounts' tickets never listed.
. "$(dirname "$0")/../lib.sh"
A=111111111111 B=222222222222
# Two old incidents, created ten days ago (the clock is shifted for that run only).
FLYWHEEL_CLOCK_OFFSET_MS=-864000000 fw_start || { fail "daemon starts"; done_testing; exit 1; }
mk_account $A; mk_account $B
api "$ADMIN" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"old one\"}"
api "$ADMIN" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"old two\"}"
OLD_AT=$(jf .created_at)
fw_stop
fw_start
VW=$(user vw $A viewer); VB=$(user vb $B viewer)
mk() { api "$ADMIN" POST /api/v1/incidents "$1"; [ "$STATUS" = 201 ] || echo "# create: $STATUS $BODY"; }
mk "{\"account\":\"$A\",\"title\":\"Disk 100% full\",\"impact\":\"high\",\"urgency\":\"high\",\"assignee\":\"alice\",\"group\":\"storage\"}"
mk "{\"account\":\"$A\",\"title\":\"disk 1000 IOPS\",\"impact\":\"low\",\"urgency\":\"low\",\"assignee\":\"bob\"}"
mk "{\"account\":\"$A\",\"title\":\"CPU high\",\"impact\":\"high\",\"urgency\":\"medium\",\"assignee\":\"alice\"}"
mk "{\"account\":\"$A\",\"title\":\"net_flap on eth0\"}"
api "$ADMIN" PATCH "/api/v1/incidents/$(jf .id)" '{"status":"acknowledged"}'
mk "{\"account\":\"$B\",\"title\":\"disk full in B\",\"impact\":\"high\",\"urgency\":\"high\"}"
mk "{\"account\":\"$B\",\"title\":\"other B\"}"
api "$ADMIN" POST /api/v1/problems "{\"account\":\"$A\",\"title\":\"disk problem\"}"

ids() { jf '[.items[].title] | join("|")'; }
api "$ADMIN" GET /api/v1/incidents
is "$(jf '.items | length')" 8 "admin lists every incident (only incidents)"
is "$(jf '.items[0].title')" "other B" "newest first"
is "$(jf .next_cursor)" null "one page: next_cursor is null"
api "$ADMIN" GET "/api/v1/incidents?account=$A"; is "$(jf '.items | length')" 6 "filter by account"
api "$VW" GET /api/v1/incidents; is "$(jf '.items | length')" 6 "a viewer of A lists A's incidents only"
is "$(jf '[.items[].account] | unique | join(",")')" "$A" "… none of B's"
api "$VW" GET "/api/v1/incidents?account=$B"; is "$STATUS/$(jf '.items | length')" 200/0 "asking for B's gives an empty list, not B's"
api "$VB" GET /api/v1/incidents; is "$(jf '.items | length')" 2 "B's viewer sees B's two"
api "$VW" GET /api/v1/incidents?account=999999999999; is "$STATUS/$(jf '.items | length')" 200/0 "an unknown account lists nothing"
api "$VW" GET "/api/v1/incidents?status=acknowledged"; is "$(ids)" "net_flap on eth0" "filter by status"
api "$VW" GET "/api/v1/incidents?priority=P1"; is "$(ids)" "Disk 100% full" "filter by priority"
api "$ADMIN" GET "/api/v1/incidents?priority=P1"; is "$(ids)" "disk full in B|Disk 100% full" "… across accounts for a global reader"
api "$VW" GET "/api/v1/incidents?assignee=alice"; is "$(ids)" "CPU high|Disk 100% full" "filter by assignee"
api "$VW" GET "/api/v1/incidents?assignee=alice&priority=P2"; is "$(ids)" "CPU high" "filters combine"
api "$VW" GET "/api/v1/incidents?group=storage"; is "$(ids)" "Disk 100% full" "filter by group"
api "$VW" GET "/api/v1/incidents?q=DISK"; is "$(ids)" "disk 1000 IOPS|Disk 100% full" "q matches titles case-insensitively"
api "$VW" GET "/api/v1/incidents?q=100%25"; is "$(ids)" "Disk 100% full" "q treats % literally"
api "$VW" GET "/api/v1/incidents?q=net_"; is "$(ids)" "net_flap on eth0" "q treats _ literally"
api "$VW" GET "/api/v1/incidents?q=k_1"; is "$(jf '.items | length')" 0 "… so _ does not match any character"
api "$VW" GET "/api/v1/incidents?q=zzz"; is "$(jf '.items | length')/$(jf .next_cursor)" 0/null "no match: empty list"
api "$VW" GET "/api/v1/problems?q=disk"; is "$(ids)" "disk problem" "problems list separately"

# created range
api "$VW" GET "/api/v1/incidents?created_before=$(date -u -d '-5 days' +%Y-%m-%dT%H:%M:%SZ)"
is "$(ids)" "old two|old one" "created_before finds the old ones"
api "$VW" GET "/api/v1/incidents?created_after=$(date -u -d '-5 days' +%Y-%m-%dT%H:%M:%SZ)"
is "$(jf '.items | length')" 4 "created_after finds the new ones"
api "$VW" GET "/api/v1/incidents?created_after=$OLD_AT"
is "$(jf '.items | length')" 5 "created_after is inclusive"
api "$VW" GET "/api/v1/incidents?created_after=$(date -u -d '-11 days' +%Y-%m-%dT%H:%M:%SZ)&created_before=$(date -u -d '-9 days' +%Y-%m-%dT%H:%M:%S)%2B00:00"
is "$(jf '.items | length')" 2 "a closed range, with a +00:00 offset"
api "$VW" GET "/api/v1/incidents?created_after=yesterday"
is "$STATUS/$(jf .error.code)" 422/invalid_parameter "a bad time is 422"
like "$(jf .error.message)" created_after "… naming the parameter"

# pagination
seen=() cur= pages=0
while :; do
  api "$VW" GET "/api/v1/incidents?limit=4${cur:+&cursor=$cur}"
  [ "$STATUS" = 200 ] || { fail "page $pages: $STATUS"; break; }
  pages=$((pages + 1))
  while read -r id; do seen+=("$id"); done < <(jf '.items[].id')
  cur=$(jf '.next_cursor // empty')
  [ -z "$cur" ] && break
  [ $pages -gt 5 ] && break
done
is "$pages" 2 "6 incidents at limit 4: two pages"
is "${#seen[@]}" 6 "every incident is on some page"
is "$(printf '%s\n' "${seen[@]}" | sort -u | wc -l)" 6 "no incident is on two pages"
api "$VW" GET "/api/v1/incidents?limit=6"; is "$(jf .next_cursor)" null "exactly limit items: no next page"
api "$VW" GET "/api/v1/incidents?limit=5"; c=$(jf .next_cursor)
api "$VW" GET "/api/v1/incidents?limit=5&cursor=$c&assignee=bob"; is "$(ids)" "" "the cursor and filters combine"
api "$VW" GET "/api/v1/incidents?limit=1&q=disk"; c=$(jf .next_cursor)
is "$(ids)/$([ "$c" != null ] && echo more)" "disk 1000 IOPS/more" "filtered lists paginate"
api "$VW" GET "/api/v1/incidents?limit=1&q=disk&cursor=$c"; is "$(ids)/$(jf .next_cursor)" "Disk 100% full/null" "… to the last page"
for bad in limit=0 limit=501 limit=abc limit=-1 cursor=abc cursor=-5 cursor=1x; do
  api "$VW" GET "/api/v1/incidents?$bad"
  is "$STATUS/$(jf .error.code)" 422/invalid_parameter "?$bad is refused"
done
api "$VW" GET "/api/v1/incidents?limit=500"; is "$STATUS" 200 "limit 500 is allowed"
done_testing
