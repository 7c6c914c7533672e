#!/usr/bin/env bash
# Real alarms reach automation: a native event and an Alertmanager alert that match a remediation
# trigger start its runbook instead of paging (prevent_incident), and the success resolves the
# alarm; a failing remediation pages; other alarms page as before; a repeat does not start a second
# run; a new incident gets its diagnostics.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
A=300800000001
mk_account $A
OPS=$(user ops $A operator)
st() { api "$ADMIN" GET "/api/v1/executions/$1"; jf .status; }
wait_end() { for _ in $(seq 300); do case $(st "$1") in succeeded|failed|rolled_back|cancelled) return 0;; esac; sleep 0.05; done; return 1; }
# executions FP -> how many executions were started for that alarm fingerprint
executions() { api "$ADMIN" GET "/api/v1/executions?account=$A&limit=500"; jf "[.items[] | select(.alarm==\"$1\")] | length"; }
incidents() { api "$ADMIN" GET "/api/v1/incidents?account=$A&limit=500"; jf '.items | length'; }
alarm() { api "$ADMIN" GET "/api/v1/alarms/$1"; jf "$2"; }
rb() { api "$ADMIN" POST /api/v1/runbooks "$(jq -nc --arg y "$1" '{yaml:$y}')"; }

# disk-cleanup's step runs until the test creates $GO: the repeat below is sent while it runs.
GO=$TEST_DIR/go; rm -f "$GO"
rb 'name: disk-cleanup
inputs: [{name: what, type: string, default: ""}, {name: host, type: string, default: ""}]
triggers: [{type: auto_remediation, match: {alertname: DiskFull}, prevent_incident: true,
            inputs: {what: "{{ alarm.annotations.summary }}", host: "{{ alarm.labels.instance }}{{ alarm.labels.resource }}"}}]
steps: [{name: clean, type: exec, timeout: 60s, command: [sh, -c, "while [ ! -e '"$GO"' ]; do sleep 0.05; done"]}]'
is "$STATUS" 201 "a remediation runbook for DiskFull"
rb 'name: quota-fix
triggers: [{type: auto_remediation, match: {alertname: QuotaFull}, prevent_incident: true}]
steps: [{name: fix, type: exec, command: ["false"]}]'
is "$STATUS" 201 "a remediation runbook that fails, for QuotaFull"
rb 'name: cpu-diag
triggers: [{type: diagnostics, match: {alertname: CpuHot}}]
steps: [{name: where, type: diagnostics, command: [echo, "diagnosed-by-cpu-diag"]}]'
is "$STATUS" 201 "a diagnostics runbook for CpuHot"

# A native event: remediation instead of an incident.
api "$ADMIN" POST /api/v1/events "{\"account\":\"$A\",\"name\":\"DiskFull\",\"resource\":\"db1\",\"severity\":\"critical\",\"summary\":\"disk db1 full\"}"
is "$STATUS" 202 "the native DiskFull event is accepted"
is "$(jf '.items[0].incident')" null "no incident is opened for it"
F1=$(jf '.items[0].fingerprint')
is "$(executions "$F1")" 1 "one execution is started for the alarm"
api "$ADMIN" GET "/api/v1/executions?account=$A&runbook=disk-cleanup"; X1=$(jf "[.items[] | select(.alarm==\"$F1\")][0].id")
is "$(jf "[.items[] | select(.alarm==\"$F1\")][0].trigger")" alarm "its trigger is the alarm"
api "$ADMIN" GET "/api/v1/executions/$X1"
is "$(jf '.inputs.what + " on " + .inputs.host')" "disk db1 full on db1" "the event's annotations and labels reach the trigger's inputs"
# A repeat while the remediation runs (its step waits for $GO) changes nothing.
api "$ADMIN" POST /api/v1/events "{\"account\":\"$A\",\"name\":\"DiskFull\",\"resource\":\"db1\",\"severity\":\"critical\"}"
is "$(jf '.items[0].status')" firing "the repeat is still the firing alarm"
is "$(alarm "$F1" .count)" 2 "the repeat was counted on the alarm"
is "$(executions "$F1")" 1 "the repeat starts no second execution"
like "$(st "$X1")" '^(queued|running)$' "the remediation has not finished yet"
is "$(alarm "$F1" .status)" firing "so the alarm still fires"
touch "$GO"
wait_end "$X1"
is "$(st "$X1")" succeeded "the remediation succeeds"
is "$(alarm "$F1" .status)" resolved "its success resolves the alarm"
api "$ADMIN" GET "/api/v1/executions/$X1"; is "$(jf .alarm_resolved)" true "the execution says it resolved the alarm"
is "$(incidents)" 0 "no incident was opened (prevent_incident)"

# An Alertmanager alert: the same, through /api/v2/alerts.
rm -f "$GO"
api "$OPS" POST /api/v2/alerts '[{"labels":{"alertname":"DiskFull","instance":"db2:9100","severity":"critical"},"annotations":{"summary":"disk db2 full"}}]'
is "$STATUS" 200 "the Alertmanager alert is accepted"
api "$ADMIN" GET '/api/v1/alarms?status=all&filter=instance%3D%22db2%3A9100%22'
F2=$(jf '.items[0].fingerprint'); like "$F2" '^[0-9a-f]{16}$' "the alert is an alarm"
is "$(jf '.items[0].status')" firing "firing while remediated"
is "$(executions "$F2")" 1 "one execution is started for the alert"
api "$ADMIN" GET "/api/v1/executions?account=$A&runbook=disk-cleanup"; X2=$(jf "[.items[] | select(.alarm==\"$F2\")][0].id")
api "$ADMIN" GET "/api/v1/executions/$X2"
is "$(jf '.inputs.what + " on " + .inputs.host')" "disk db2 full on db2:9100" "the alarm handed to automation carries the alert's labels and annotations"
like "$(st "$X2")" '^(queued|running)$' "its remediation has not finished yet"
api "$OPS" GET '/api/v2/alerts?filter=instance%3D%22db2%3A9100%22'
is "$(jq -r '[.[].status.state] | join(",")' <<<"$BODY")" active "meanwhile Alertmanager's API lists the alert as active"
touch "$GO"
wait_end "$X2"
is "$(st "$X2")" succeeded "the alert's remediation succeeds"
is "$(alarm "$F2" .status)" resolved "and resolves the alert's alarm"
api "$OPS" GET '/api/v2/alerts?filter=instance%3D%22db2%3A9100%22'
is "$(jq 'length' <<<"$BODY")" 0 "Alertmanager's API no longer lists it as active"
is "$(incidents)" 0 "still no incident"

# A failing remediation: automation opens the held-back incident.
api "$ADMIN" POST /api/v1/events "{\"account\":\"$A\",\"name\":\"QuotaFull\",\"resource\":\"fs1\"}"
is "$(jf '.items[0].incident')" null "no incident while the remediation runs"
F3=$(jf '.items[0].fingerprint')
is "$(executions "$F3")" 1 "the QuotaFull alarm starts quota-fix"
api "$ADMIN" GET "/api/v1/executions?account=$A&runbook=quota-fix"; X3=$(jf '.items[0].id')
wait_end "$X3"
is "$(st "$X3")" failed "quota-fix fails"
api "$ADMIN" GET "/api/v1/executions/$X3"; I3=$(jf .incident_opened)
like "$I3" '^INC-[0-9]+$' "the failure opens the incident"
api "$ADMIN" GET "/api/v1/incidents/$I3"; like "$(jf .title)" 'QuotaFull' "the incident names the alarm"
is "$(incidents)" 1 "exactly that one incident"
is "$(alarm "$F3" .status)" firing "the alarm keeps firing"

# An alarm no remediation matches pages as usual, with no execution.
api "$ADMIN" POST /api/v1/events "{\"account\":\"$A\",\"name\":\"MemHigh\",\"resource\":\"app1\"}"
I4=$(jf '.items[0].incident'); like "$I4" '^INC-[0-9]+$' "a non-matching alarm opens an incident"
F4=$(jf '.items[0].fingerprint')
is "$(executions "$F4")" 0 "and starts no execution"
is "$(incidents)" 2 "two incidents now"

# Diagnostics: the incident opened for CpuHot gets cpu-diag's output on its timeline.
api "$ADMIN" POST /api/v1/events "{\"account\":\"$A\",\"name\":\"CpuHot\",\"resource\":\"app2\"}"
I5=$(jf '.items[0].incident'); like "$I5" '^INC-[0-9]+$' "CpuHot opens an incident"
api "$ADMIN" GET "/api/v1/executions?ticket=$I5"
is "$(jf '.items | length')" 1 "one diagnostics execution is queued for the incident"
is "$(jf '.items[0].trigger')" diagnostics "with the diagnostics trigger"
D=$(jf '.items[0].id'); wait_end "$D"
is "$(st "$D")" succeeded "cpu-diag succeeds"
api "$ADMIN" GET "/api/v1/incidents/$I5/timeline"
is "$(jf '[.items[] | select(.type=="diagnostics")] | length')" 1 "the incident's timeline gets a diagnostics entry"
like "$(jf '[.items[] | select(.type=="diagnostics")][0].body.output')" 'diagnosed-by-cpu-diag' "with the step's output"
api "$ADMIN" GET "/api/v1/incidents/$I4/timeline"
is "$(jf '[.items[] | select(.type=="diagnostics")] | length')" 0 "the MemHigh incident gets none"

# The resolution by automation survives a restart (it is in the store, not only in memory).
fw_stop; fw_start || fail "daemon restarts"
is "$(alarm "$F1" .status)" resolved "the remediated alarm is still resolved after restart"
is "$(alarm "$F3" .status)" firing "the failed one still fires"
done_testing
