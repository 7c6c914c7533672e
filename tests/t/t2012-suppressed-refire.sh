#!/usr/bin/env bash
# An alarm that fires again while silenced is not part of its old incident: resolving it then must not
# count against that incident's group (which would auto-resolve the incident while another alarm of
# the group still fires) nor write to the old incident's timeline.
. "$(dirname "$0")/../lib.sh"
fw_start || exit 1
A=230000000012
mk_account $A
OPS=$(user ops $A operator)
ev() { api "$OPS" POST /api/v1/events "$1"; }
entries() { api "$OPS" GET "/api/v1/incidents/$INC/timeline?limit=200"; jf '[.items[]|select(.type=="alarm")]|length'; }

ev '[{"name":"Grp","resource":"x"},{"name":"Grp","resource":"y"}]'
is "$STATUS" 202 "two alarms of one group fire"
INC=$(jf '.items[0].incident')
like "$INC" '^INC-[0-9]+$' "they open an incident"
is "$(jf '.items[1].incident')" "$INC" "both are in it"
ev '{"name":"Grp","resource":"x","status":"resolved"}'
api "$OPS" GET "/api/v1/incidents/$INC"
like "$(jf .status)" '^(new|acknowledged|investigating)$' "x resolves: the incident stays open, y still fires"
api "$OPS" POST /api/v1/silences '{"matchers":["resource=\"x\""],"duration":"1h","comment":"work on x"}'
is "$STATUS" 201 "x is silenced"
N0=$(entries)
ev '{"name":"Grp","resource":"x"}'
is "$(jf '.items[0].suppressed')" silenced "x fires again, silenced"
is "$(jf '.items[0].incident')" null "the silenced episode belongs to no incident"
ev '{"name":"Grp","resource":"x","status":"resolved"}'
is "$(jf '.items[0].status')" resolved "x resolves again while silenced"
api "$OPS" GET "/api/v1/incidents/$INC"
like "$(jf .status)" '^(new|acknowledged|investigating)$' "the incident is still open: y still fires"
is "$(entries)" "$N0" "the silenced episode wrote nothing to the old incident's timeline"
ev '{"name":"Grp","resource":"y","status":"resolved"}'
api "$OPS" GET "/api/v1/incidents/$INC"
is "$(jf .status)" resolved "y resolves: now every alarm of the group is resolved and so is the incident"
done_testing
