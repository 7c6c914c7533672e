#!/usr/bin/env bash
# flywheel event|alarm|silence: events sent with the CLI become alarms and incidents on the real
# daemon; alarms list and show; silences are added, listed, hold back matching alarms and expire;
# exit codes and --help hold up. Also checks that the oncall family is wired into the dispatcher.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
cd "$TEST_DIR" || exit 1
export HOME="$TEST_DIR/home" XDG_CONFIG_HOME="$TEST_DIR/xdg" FLYWHEEL_URL="$FW_URL" FLYWHEEL_TOKEN="$ADMIN"
# fw ARGS…: runs the CLI; sets OUT (stdout), ERR (stderr), RC.
fw() { OUT=$("$FW_BIN" "$@" 2>"$TEST_DIR/cli.err"); RC=$?; ERR=$(cat "$TEST_DIR/cli.err"); }
ACC=950000000001; ACC2=950000000002
mk_account $ACC && mk_account $ACC2 || { fail "accounts"; done_testing; exit 1; }
OPS=$(user ops1 $ACC operator)
VIEW=$(user view1 $ACC viewer)

# ---- event send -> alarm -> incident ----
fw event send --account $ACC --label alertname=DiskFull --label host=db1 --severity high \
  --annotation summary="92% used"
is "$RC" 0 "event send exits 0"
like "$OUT" "^alarm [0-9a-f]{16} firing \(account $ACC\): incident INC-[0-9]+$" \
  "event send prints the alarm's fingerprint, status and incident"
FP=$(grep -Eo '[0-9a-f]{16}' <<<"$OUT"); INC=$(grep -Eo 'INC-[0-9]+' <<<"$OUT")
api "$ADMIN" GET "/api/v1/alarms/$FP"
is "$(jf '.labels | tostring')" '{"alertname":"DiskFull","host":"db1"}' "the labels became the alarm's identity"
is "$(jf .annotations.summary)/$(jf .severity)" "92% used/high" "annotation and severity were sent"
api "$ADMIN" GET "/api/v1/incidents/$INC"
is "$(jf .status)/$(jf .account)" "new/$ACC" "the incident is open on the account"

fw event send --account $ACC --label alertname=DiskFull --label host=db1 --severity high --json
is "$(jq -r '.items[0].fingerprint' <<<"$OUT")" "$FP" "the same labels are the same alarm (--json is the API's answer)"
is "$(jq -r '.items[0].incident' <<<"$OUT")" "$INC" "… in the same incident"

# A token bound to one account needs no --account; --name and --resource become labels.
fw event send --token "$OPS" --name HighCPU --resource web1 --severity critical
is "$RC" 0 "an operator's token sends without --account"
like "$OUT" "firing \(account $ACC\)" "… to its account"
FP2=$(grep -Eo '[0-9a-f]{16}' <<<"$OUT")
api "$ADMIN" GET "/api/v1/alarms/$FP2"
is "$(jf .labels.alertname)/$(jf .labels.resource)" "HighCPU/web1" "--name and --resource are labels"

# ---- alarm list / show ----
fw alarm list
is "$RC" 0 "alarm list exits 0"
like "$(head -1 <<<"$OUT")" '^FINGERPRINT +STATUS +SEVERITY +ACCOUNT +ALERTNAME +INCIDENT +COUNT +LAST SEEN +SUPPRESSED +LABELS$' \
  "alarm list header"
like "$OUT" "$FP +firing +high +$ACC +DiskFull +$INC +2 +[0-9-]{10} [0-9:]{5} +- +host=\"db1\"" \
  "alarm list row: status, severity, name, incident, count, other labels"
fw alarm list --filter 'alertname="HighCPU"' --json
is "$(jq -r '[.items[].fingerprint] | join(",")' <<<"$OUT")" "$FP2" "alarm list --filter passes label matchers"
fw alarm list --limit 1 --all --json
is "$(jq '.items | length' <<<"$OUT")" 2 "alarm list --all pages"
fw alarm show "$FP"
is "$RC" 0 "alarm show exits 0"
like "$OUT" "status +firing" "alarm show prints the state"
like "$OUT" "incident +$INC" "… the incident"
like "$OUT" $'Labels:\n  alertname=DiskFull\n  host=db1' "… the labels"
like "$OUT" $'Annotations:\n  summary=92% used' "… and the annotations"
fw alarm show 0123456789abcdef
is "$RC" 1 "alarm show of an unknown fingerprint exits 1"
like "$ERR" 'not found \(not_found, HTTP 404\)' "… not found"

# ---- bad events ----
fw event send --account $ACC
is "$RC" 2 "an event without labels is a usage error"
fw event send --account $ACC --label nolabelvalue
is "$RC" 2 "--label without = is a usage error"
fw event send --account $ACC --label alertname=X --severity dire
is "$RC" 1 "an unknown severity is refused by the daemon (exit 1)"
like "$ERR" 'HTTP 422' "… as invalid"
fw event send --label alertname=X
is "$RC" 1 "a global token without --account is refused"
like "$ERR" "name the account .*account_required, HTTP 422" "… saying to name the account"
fw event send --token "$VIEW" --account $ACC --label alertname=X
is "$RC" 1 "a viewer may not send events"
like "$ERR" 'HTTP 403' "… forbidden"

# ---- silences ----
fw silence add 'alertname="Muted"' 'host=~"db.*"' --duration 2h --comment "db upgrade" --account $ACC
is "$RC" 0 "silence add exits 0"
SID=$OUT
like "$SID" '^[0-9a-f-]{36}$' "silence add prints only the id on stdout"
like "$ERR" "silence active \($ACC\) until [0-9-]{10} [0-9:]{5} UTC: alertname=\"Muted\", host=~\"db.\*\"" \
  "… and a summary on stderr"
api "$ADMIN" GET "/api/v1/silences/$SID"
is "$(jf '[.matchers[] | "\(.name)|\(.value)|\(.isRegex)"] | join(",")')" "alertname|Muted|false,host|db.*|true" \
  "the matchers were sent as given"
fw silence list
is "$RC" 0 "silence list exits 0"
like "$(head -1 <<<"$OUT")" '^ID +STATUS +ACCOUNT +STARTS +ENDS +CREATED BY +MATCHERS +COMMENT$' "silence list header"
like "$OUT" "$SID +active +$ACC .*alertname=\"Muted\", host=~\"db\.\*\" +db upgrade" "silence list shows the silence"
fw silence show "$SID"
like "$OUT" "comment +db upgrade" "silence show prints the fields"
like "$OUT" 'matchers +alertname="Muted", host=~"db\.\*"' "… and the matchers"

fw event send --account $ACC --label alertname=Muted --label host=db7
like "$OUT" "firing \(account $ACC\): suppressed \(silenced\)$" "a matching event is silenced, opens no incident"
MFP=$(grep -Eo '[0-9a-f]{16}' <<<"$OUT")
fw event send --account $ACC --label alertname=Muted --label host=web7
like "$OUT" ": incident INC-[0-9]+$" "an event the silence does not match opens an incident"
fw alarm show "$MFP" --json
is "$(jq -r '.silenced_by[0]' <<<"$OUT")" "$SID" "the alarm names its silence"
fw alarm list --filter 'host="db7"'
like "$OUT" "$MFP +firing .* +silenced +" "alarm list shows what suppresses an alarm"

fw silence add 'x=~".*"' --comment everything --account $ACC
is "$RC" 1 "a silence matching everything is refused (exit 1)"
fw silence add 'alertname="X"' --account $ACC
is "$RC" 2 "silence add without --comment is a usage error"
fw silence add --comment nothing --account $ACC
is "$RC" 2 "silence add without a matcher is a usage error"
fw silence add 'alertname="X"' --comment "viewer" --account $ACC --token "$VIEW"
is "$RC" 1 "a viewer may not add silences"

fw silence expire "$SID" 00000000-0000-0000-0000-000000000000
is "$RC" 1 "expire with one unknown id exits 1"
like "$OUT" "^$SID expired$" "… after expiring the known one"
like "$ERR" 'not found \(not_found, HTTP 404\)' "… and names the unknown one"
api "$ADMIN" GET "/api/v1/silences/$SID"
is "$(jf .status)" expired "the daemon has it expired"
fw silence list --json
is "$(jq "[.items[] | select(.id == \"$SID\")] | length" <<<"$OUT")" 0 "silence list hides expired silences"
fw silence list --expired
like "$OUT" "$SID +expired " "silence list --expired shows them"
fw event send --account $ACC --label alertname=Muted --label host=db8
like "$OUT" ": incident INC-[0-9]+$" "after expiry matching events open incidents again"

# ---- resolve ----
fw event send --account $ACC --label alertname=DiskFull --label host=db1 --resolve
is "$RC" 0 "event send --resolve exits 0"
like "$OUT" "^alarm $FP resolved \(account $ACC\): incident $INC$" "the alarm resolves"
fw alarm list --status resolved --json
is "$(jq -r '[.items[].fingerprint] | join(",")' <<<"$OUT")" "$FP" "alarm list --status resolved lists it"
fw alarm list --json
is "$(jq "[.items[] | select(.fingerprint == \"$FP\")] | length" <<<"$OUT")" 0 "… and the default list (firing) does not"
api "$ADMIN" GET "/api/v1/incidents/$INC"
is "$(jf .status)" resolved "the incident resolved with its only alarm"

# ---- connection, help, oncall wiring ----
fw alarm list --url http://127.0.0.1:1
is "$RC" 3 "no daemon: exit 3"
fw silence list --token fw_nope
is "$RC" 3 "a rejected token: exit 3"
fw event send --help
is "$RC" 0 "event send --help exits 0"
like "$OUT" "--label NAME=VALUE +a label; the labels are the alarm's identity \(repeatable\)" "send --help lists --label"
like "$OUT" "--resolve" "… and --resolve"
fw silence --help
like "$OUT" "add MATCHER… +Silence the alarms" "silence --help lists add"
like "$OUT" "expire ID… +End silences now" "… and expire"
fw alarm nosuch
is "$RC" 2 "an unknown alarm command is a usage error"
fw --help
like "$OUT" "event +Events" "flywheel --help lists event, alarm, silence"
like "$OUT" "oncall +on-call schedules" "… and oncall"
fw oncall --help
is "$RC" 0 "flywheel oncall is dispatched"
like "$OUT" "show SCHEDULE" "… to the oncall family"
fw oncall show nosuch
is "$RC" 1 "oncall show of an unknown schedule reaches the daemon (exit 1)"

done_testing
