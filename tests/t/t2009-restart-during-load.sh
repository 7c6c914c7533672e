#!/usr/bin/env bash
# Restart while the alarm index is still loading: the daemon answers at once, and events that arrive
# before the load has finished wait for it, so a repeat of a stored alarm deduplicates (no second
# alarm, no second incident) and a new alarm of the same group joins the group's open incident.
. "$(dirname "$0")/../lib.sh"
fw_start || exit 1
A=220000000009
mk_account $A
TOK=$(user loader $A operator)
al() { echo "[{\"labels\":{\"alertname\":\"DiskFull\",\"instance\":\"$1\"},\"annotations\":{\"summary\":\"disk $1\"}}]"; }
api "$TOK" POST /api/v2/alerts "$(al db-1)"
is "$STATUS" 200 "first alert accepted"
api "$TOK" GET "/api/v1/incidents?account=$A"
is "$(jf '.items | length')" 1 "it opened one incident"
INC=$(jf '.items[0].id')

fw_kill9
FLYWHEEL_EVENTS_LOAD_DELAY_MS=3000 fw_start || exit 1
is "$(grep -c 'alarms, .* loaded in' "$TEST_DIR/daemon.log")" 1 "the daemon answers before the alarms are loaded"
api "$TOK" POST /api/v2/alerts "$(al db-1)"
is "$STATUS" 200 "a repeat sent during the load is accepted"
api "$TOK" POST /api/v2/alerts "$(al db-2)"
is "$STATUS" 200 "a new alarm of the same group sent during the load is accepted"
is "$(grep -c 'alarms, .* loaded in' "$TEST_DIR/daemon.log")" 2 "the answers came after the load had finished"

api "$TOK" GET "/api/v1/alarms?account=$A"
is "$(jf '.items | length')" 2 "two alarms, not three: the repeat deduplicated"
is "$(jf '[.items[] | select(.labels.instance == "db-1")][0].count')" 2 "the stored alarm counted the repeat"
is "$(jf '[.items[] | .incident] | unique | join(",")')" "$INC" "both alarms are on the group's incident"
api "$TOK" GET "/api/v1/incidents?account=$A"
is "$(jf '.items | length')" 1 "still one incident"
done_testing
