#!/usr/bin/env bash
# Suppression and classification: silences, maintenance windows (calendar), inhibition, rules from
# rules.d/*.yaml (non-impacting, group_by, severity, problem, flap), SIGHUP reload, rules API.
. "$(dirname "$0")/../lib.sh"
mkdir -p "$TEST_DIR/rules.d"
cat >"$TEST_DIR/rules.d/10-base.yaml" <<'YAML'
rules:
  - name: info-only
    match: ['severity="info"']
    action: non_impacting
  - name: by-cluster
    match: ['alertname=~"Node.*"']
    group_by: [cluster]
    group_window: 10m
    severity: critical
  - name: recurring
    match: ['alertname="Recurring"']
    action: problem
    problem: {threshold: 2, window: 1h}
  - name: flappy
    match: ['alertname="Flappy"']
    flap: {threshold: 3, window: 1h}
inhibit_rules:
  - name: cluster-down-mutes-nodes
    source_match: ['alertname="ClusterDown"']
    target_match: ['alertname=~"Svc.*"']
    equal: [cluster]
YAML
fw_start || exit 1
A=230000000004
mk_account $A
OPS=$(user ops $A operator)
ev() { api "$OPS" POST /api/v1/events "$1"; }

api "$OPS" GET /api/v1/rules
is "$(jf '[.rules[].name]|join(",")')" "info-only,by-cluster,recurring,flappy" "rules loaded from rules.d in order"
is "$(jf '.inhibit_rules[0].origin')" file "inhibit rule from file"

ev '{"name":"Disk","resource":"a","severity":"info"}'
is "$(jf '.items[0].suppressed')" non_impacting "non-impacting alarm recorded only"
is "$(jf '.items[0].incident')" null "no incident for non-impacting"

ev '[{"name":"NodeDown","labels":{"cluster":"c1","node":"n1"}},{"name":"NodeHot","labels":{"cluster":"c1","node":"n2"}}]'
is "$(jf '.items[0].incident == .items[1].incident')" true "group_by cluster: different alertnames, one incident"
INC=$(jf '.items[0].incident')
api "$OPS" GET "/api/v1/incidents/$INC"; is "$(jf .severity)" critical "severity from the rule"
is "$(jf .rule)" by-cluster "incident names its rule"

# Silences (native API)
api "$OPS" POST /api/v1/silences '{"matchers":["alertname=\"Muted\""],"duration":"1h","comment":"upgrade"}'
is "$STATUS" 201 "silence created"; SID=$(jf .id)
ev '{"name":"Muted","resource":"x"}'
is "$(jf '.items[0].suppressed')" silenced "silenced alarm"
is "$(jf '.items[0].incident')" null "silenced alarm opens no incident"
api "$OPS" GET "/api/v1/alarms?filter=alertname%3D%22Muted%22"; is "$(jf '.items[0].silenced_by[0]')" "$SID" "alarm lists its silence"
api "$OPS" POST /api/v1/silences '{"matchers":["x=~\".*\""],"duration":"1h","comment":"all"}'; is "$STATUS" 400 "silence matching everything refused"
api "$OPS" POST /api/v1/silences '{"matchers":["a=\"b\""],"duration":"1h"}'; is "$STATUS" 422 "comment required"
api "$OPS" DELETE "/api/v1/silences/$SID"; is "$STATUS" 204 "silence expired"
api "$OPS" GET "/api/v1/silences/$SID"; is "$(jf .status)" expired "silence state expired"

# Maintenance windows: cron every minute for an hour: active now.
api "$OPS" POST /api/v1/maintenance-windows '{"name":"patch night","matchers":["service=\"db\""],"cron":"* * * * *","duration":"1h","timezone":"Europe/Paris"}'
is "$STATUS" 201 "maintenance window created"; MW=$(jf .id)
ev '{"name":"DbSlow","labels":{"service":"db"}}'
is "$(jf '.items[0].suppressed')" maintenance "alarm in maintenance"
api "$OPS" POST /api/v1/maintenance-windows '{"name":"weekly","days":["sat","sun"],"start":"22:00","duration":"4h","timezone":"America/New_York","matchers":["service=\"web\""]}'
is "$STATUS" 201 "weekly window created"
api "$OPS" GET "/api/v1/maintenance-windows?from=2026-03-01T00:00:00Z&to=2026-03-15T00:00:00Z"
is "$(jf '[.items[]|select(.name=="weekly")][0].occurrences|length')" 4 "calendar: 4 weekend occurrences in two weeks"
is "$(jf '[.items[]|select(.name=="weekly")][0].occurrences[0].start')" "2026-03-01T03:00:00.000Z" "occurrence in the window's time zone (EST)"
is "$(jf '[.items[]|select(.name=="weekly")][0].occurrences[3].start')" "2026-03-09T02:00:00.000Z" "after the DST change (EDT)"
api "$OPS" POST /api/v1/maintenance-windows '{"cron":"61 * * * *","duration":"1h"}'; is "$STATUS" 400 "bad cron 400"
api "$OPS" POST /api/v1/maintenance-windows '{"cron":"* * * * *","duration":"1h","timezone":"Mars/Base"}'; is "$STATUS" 400 "bad zone 400"
api "$OPS" DELETE "/api/v1/maintenance-windows/$MW"; is "$STATUS" 204 "window deleted"

# Inhibition
ev '{"name":"ClusterDown","labels":{"cluster":"c9"}}'
ev '[{"name":"SvcErrors","labels":{"cluster":"c9"}},{"name":"SvcErrors","labels":{"cluster":"c8"}}]'
is "$(jf '.items[0].suppressed')" inhibited "same cluster: inhibited"
is "$(jf '.items[1].suppressed')" null "other cluster: not inhibited"

# Problem: a recurring alarm past the threshold opens a problem.
ev '{"name":"Recurring","resource":"r"}'; is "$(jf '.items[0].incident')" null "problem rule opens no incident"
ev '{"name":"Recurring","resource":"r","status":"resolved"}'
ev '{"name":"Recurring","resource":"r"}'
api "$OPS" GET "/api/v1/problems?limit=50"
is "$(jf '[.items[]|select(.rule=="recurring")]|length')" 1 "problem opened on the second firing"

# Flap: more than 3 state changes within an hour: held, no paging.
for s in firing resolved firing resolved; do ev "{\"name\":\"Flappy\",\"resource\":\"f\",\"status\":\"$s\"}"; done
ev '{"name":"Flappy","resource":"f","status":"firing"}'
is "$(jf '.items[0].suppressed')" flapping "flapping alarm held"
api "$OPS" GET "/api/v1/alarms?filter=alertname%3D%22Flappy%22"; is "$(jf '.items[0].flapping')" true "alarm marked flapping"

# Rules API and SIGHUP reload
api "$OPS" POST /api/v1/rules '{"name":"x"}'; is "$STATUS" 403 "operators cannot manage rules"
api "$ADMIN" POST /api/v1/rules '{"name":"api-rule","match":["team=\"blue\""],"action":"non_impacting","position":1}'
is "$STATUS" 201 "rule created through the API"
ev '{"name":"Anything","labels":{"team":"blue"}}'; is "$(jf '.items[0].suppressed')" non_impacting "API rule applies at once"
api "$ADMIN" POST /api/v1/rules '{"name":"bad","action":"explode"}'; is "$STATUS" 422 "invalid action refused"
api "$ADMIN" POST /api/v1/rules '{"name":"bad","match":["a=~\"(\""]}'; is "$STATUS" 400 "invalid regex refused"
api "$ADMIN" PUT /api/v1/rules/api-rule '{"match":["team=\"green\""],"action":"non_impacting"}'; is "$STATUS" 200 "rule replaced"
cat >"$TEST_DIR/rules.d/20-more.yaml" <<'YAML'
rules:
  - name: from-reload
    match: ['team="red"']
    action: non_impacting
YAML
kill -HUP "$FW_PID"; sleep 0.5
api "$ADMIN" GET /api/v1/rules
like "$(jf '[.rules[].name]|join(",")')" "from-reload" "SIGHUP reloads rules.d"
like "$(jf '[.rules[].name]|join(",")')" "api-rule" "API rules survive a reload"
api "$ADMIN" DELETE /api/v1/rules/api-rule; is "$STATUS" 204 "rule deleted"
api "$ADMIN" DELETE /api/v1/rules/api-rule; is "$STATUS" 404 "deleting again is 404"
fw_stop; fw_start || exit 1
api "$OPS" GET "/api/v1/silences"; is "$(jf '.items|length')" 1 "silences survive restart"
api "$OPS" GET "/api/v1/maintenance-windows"; is "$(jf '.items|length')" 1 "maintenance windows survive restart"
done_testing
