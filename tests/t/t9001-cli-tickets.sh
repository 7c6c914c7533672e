#!/usr/bin/env bash
# flywheel incident|problem|request|change|article: the CLI drives the real daemon through every
# ticket kind's life, and its tables, --json, exit codes, pagination and --help hold up.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
cd "$TEST_DIR" || exit 1
export HOME="$TEST_DIR/home" XDG_CONFIG_HOME="$TEST_DIR/xdg" FLYWHEEL_URL="$FW_URL" FLYWHEEL_TOKEN="$ADMIN"
# fw ARGS…: runs the CLI; sets OUT (stdout), ERR (stderr), RC.
fw() { OUT=$("$FW_BIN" "$@" 2>"$TEST_DIR/cli.err"); RC=$?; ERR=$(cat "$TEST_DIR/cli.err"); }
ACC=123456789012
mk_account $ACC || { fail "account"; done_testing; exit 1; }

# ---- incidents ----
fw incident create --account $ACC --title "Disk full on db-1" --impact high --urgency high --json
is "$RC" 0 "incident create exits 0"
INC=$(jq -r .id <<<"$OUT")
like "$INC" '^INC-[0-9]+$' "incident create --json prints the new ticket"
is "$(jq -r .priority <<<"$OUT")" P1 "priority comes from impact x urgency"
fw incident create --account $ACC --title "Slow login page"
like "$OUT" '^INC-[0-9]+ created: status new, priority P3$' "create without --json prints one line"
fw incident list
like "$(head -1 <<<"$OUT")" '^ID +STATUS +PRI +SEV +ACCOUNT +ASSIGNEE +UPDATED +TITLE$' "list prints a header row"
like "$OUT" "$INC +new +P1 +critical +$ACC" "list shows the incident's columns"
row=$(grep "^$INC " <<<"$OUT")
like "$row" ' [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} ' "times are shortened in tables"
hdr=$(head -1 <<<"$OUT")
is "$(awk -v h="$hdr" 'BEGIN{print index(h,"TITLE")}')" "$(awk -v r="$row" 'BEGIN{print index(r,"Disk full")}')" \
  "columns are aligned under their header"
fw incident list --json
is "$(jq '.items | length' <<<"$OUT")" 2 "list --json is the API's list"
fw incident list --priority P1 --json
is "$(jq -r '[.items[].id] | join(",")' <<<"$OUT")" "$INC" "list --priority filters"
fw incident list --q "LOGIN" --json
is "$(jq -r '.items[0].title' <<<"$OUT")" "Slow login page" "list --q matches titles, any case"

fw incident ack "$INC" --note "looking"
is "$RC" 0 "incident ack exits 0"
api "$ADMIN" GET /api/v1/incidents/$INC; is "$(jf .status)" acknowledged "ack is PATCH status=acknowledged"
fw incident close "$INC"
is "$RC" 1 "an invalid transition exits 1"
like "$ERR" "^flywheel: status 'closed' is not reachable from 'acknowledged'; allowed: .* \(invalid_transition, HTTP 409\)$" \
  "API errors print message, code and HTTP status"
fw incident update "$INC" --assignee alice --group dba
api "$ADMIN" GET /api/v1/incidents/$INC; is "$(jf .assignee)/$(jf .group)" alice/dba "update sets fields"
fw incident update "$INC" --assignee ''
api "$ADMIN" GET /api/v1/incidents/$INC; is "$(jf '.assignee // "cleared"')" cleared "an empty value clears a field"
fw incident list --assignee alice --json
is "$(jq '.items | length' <<<"$OUT")" 0 "list --assignee filters"
fw incident resolve "$INC" --resolution "rotated logs" --note "fixed"
api "$ADMIN" GET /api/v1/incidents/$INC
is "$(jf .status)|$(jf .resolution)" "resolved|rotated logs" "a verb sends its fields with the status"
fw incident comment "$INC" "customer told" --visibility internal
is "$RC" 0 "comment with positional text"
fw incident comment "$INC"
is "$RC" 2 "comment without text is a usage error"
fw incident timeline "$INC" --json
is "$(jq -r '[.items[].type] | join(",")' <<<"$OUT")" "created,status,field,field,field,field,status,comment" \
  "timeline --json lists every entry"
fw incident show "$INC"
is "$RC" 0 "show exits 0"
like "$OUT" "status +resolved" "show prints fields"
like "$OUT" "resolution +rotated logs" "show prints the resolution"
like "$OUT" "Timeline:" "show prints the timeline"
like "$OUT" "acknowledged -> resolved: fixed" "timeline shows transitions with their note"
like "$OUT" "internal +customer told" "timeline shows comments"
fw incident close "$INC"; is "$RC" 0 "close a resolved incident"
fw incident show INC-9999
is "$RC" 1 "show of a missing ticket exits 1"
like "$ERR" 'not found \(not_found, HTTP 404\)' "not found names code and status"
fw incident show PRB-1
is "$RC" 1 "an id of another kind is not found"

fw incident create --account $ACC --title "Please add a user" --json
INC2=$(jq -r .id <<<"$OUT")
fw incident reclassify "$INC2" --note "a request"
like "$OUT" "^$INC2 reclassified as service request SR-[0-9]+$" "reclassify names the new request"
SR=$(grep -o 'SR-[0-9]*' <<<"$OUT")
api "$ADMIN" GET /api/v1/incidents/$INC2; is "$(jf .status)" reclassified "the incident is reclassified"

# ---- problems ----
fw problem create --account $ACC --title "Logs fill disks" --json
PRB=$(jq -r .id <<<"$OUT")
like "$PRB" '^PRB-[0-9]+$' "problem create"
fw problem link "$PRB" "$INC"
like "$OUT" "^$PRB linked to $INC \(incident\)$" "problem link with a positional target"
api "$ADMIN" GET /api/v1/problems/$PRB; is "$(jf '.links[0].id')" "$INC" "the link is stored"
for v in root-cause known-error resolve close; do fw problem $v "$PRB"; [ $RC -eq 0 ] || break; done
api "$ADMIN" GET /api/v1/problems/$PRB; is "$(jf .status)" closed "problem root-cause, known-error, resolve, close"

# ---- service requests ----
APPROVER=$(user approver1 $ACC approver)
APPROVER2=$(user approver2 $ACC approver)
fw request create --account $ACC --title "New VPN account" --details '{"user":"bob"}' --json
REQ=$(jq -r .id <<<"$OUT")
is "$(jq -r .details.user <<<"$OUT")" bob "--details sends JSON"
fw request create --account $ACC --title x --details '{oops'
is "$RC" 2 "--details with bad JSON is a usage error"
fw request approve "$REQ" --token "$APPROVER"
is "$RC" 0 "an approver approves a request (--token after the command)"
fw request start "$REQ"; fw request fulfil "$REQ"; fw request close "$REQ"
api "$ADMIN" GET /api/v1/requests/$REQ; is "$(jf .status)" closed "request approve, start, fulfil, close"
fw request cancel "$SR"
api "$ADMIN" GET /api/v1/requests/$SR; is "$(jf .status)" cancelled "request cancel"

# ---- changes ----
fw change create --account $ACC --title "Upgrade kernel"
CHG=$(grep -o 'CHG-[0-9]*' <<<"$OUT")
fw change submit "$CHG"
fw change review "$CHG"
is "$RC" 1 "review without an impact assessment is refused"
like "$ERR" 'impact_assessment_required, HTTP 422' "the refusal says why"
fw change update "$CHG" --risk high --affected-resource i-1 --affected-resource i-2 --rollback-plan "boot old kernel"
api "$ADMIN" GET /api/v1/changes/$CHG; is "$(jf '.affected_resources | join(",")')" "i-1,i-2" "--affected-resource repeats into an array"
fw change review "$CHG"; is "$RC" 0 "review once assessed"
fw change approve "$CHG"
is "$RC" 1 "the author may not approve"
like "$ERR" 'two_person_rule, HTTP 403' "two-person rule reported"
fw --token "$APPROVER" change approve "$CHG" --comment "looks fine"
like "$OUT" "approval recorded \(1 so far\), status in_review" "first approval of a high-risk change"
fw change approve "$CHG" --token "$APPROVER2"
like "$OUT" "status approved" "second approval approves (POST …/approvals)"
fw change schedule "$CHG" --scheduled-at 2030-01-01T02:00:00Z
api "$ADMIN" GET /api/v1/changes/$CHG; is "$(jf .status)|$(jf .scheduled_at)" "scheduled|2030-01-01T02:00:00Z" "schedule with --scheduled-at"
fw change execute "$CHG"; fw change fail "$CHG"; fw change rollback "$CHG"
api "$ADMIN" GET /api/v1/changes/$CHG; is "$(jf .status)" rolled_back "execute, fail, rollback"
fw change create --account $ACC --title "Rotate keys" --risk low --affected-resource k-1 --rollback-plan none --json
CHG2=$(jq -r .id <<<"$OUT")
fw change submit "$CHG2"; fw change review "$CHG2"; fw change approve "$CHG2" --token "$APPROVER"
fw change execute "$CHG2"; fw change complete "$CHG2"
api "$ADMIN" GET /api/v1/changes/$CHG2; is "$(jf .status)" completed "a low-risk change needs one approval and completes"
fw change create --account $ACC --title "Never mind"
fw change cancel "$(grep -o 'CHG-[0-9]*' <<<"$OUT")"; is "$RC" 0 "change cancel"

# ---- articles ----
fw article create --incident "$INC" --json
KB=$(jq -r .id <<<"$OUT")
like "$KB" '^KB-[0-9]+$' "article create from a resolved incident"
fw article list
like "$OUT" "$KB +$ACC +$INC " "article list shows the source ticket"
fw article show "$KB"
like "$OUT" "rotated logs" "article show prints the body"
fw article create --title only
is "$RC" 2 "article create without incident or account/body is a usage error"

# ---- pagination ----
for i in 1 2 3 4 5 6; do api "$ADMIN" POST /api/v1/incidents "{\"account\":\"$ACC\",\"title\":\"bulk $i\"}"; done
total=$(api "$ADMIN" GET '/api/v1/incidents?limit=500'; jf '.items | length')
fw incident list --limit 2
is "$(($(wc -l <<<"$OUT") - 1))" 2 "--limit 2 prints two rows"
like "$ERR" 'more: add --cursor [0-9]+' "a partial list says how to go on"
cur=$(grep -o 'cursor [0-9]*' <<<"$ERR" | cut -d' ' -f2)
fw incident list --limit 2 --cursor "$cur" --json
is "$(jq '.items | length' <<<"$OUT")" 2 "--cursor gives the next page"
fw incident list --limit 2 --all --json
is "$(jq '.items | length' <<<"$OUT")" "$total" "--all follows next_cursor to the end"
is "$(jq '[.items[].id] | unique | length' <<<"$OUT")" "$total" "--all repeats no item"
is "$(jq -r .next_cursor <<<"$OUT")" null "--all ends without a cursor"
fw incident list --limit 3 --all
is "$(($(wc -l <<<"$OUT") - 1))" "$total" "--all tables list every item"

# ---- usage errors and help ----
fw incident create --account $ACC
is "$RC" 2 "a missing required flag exits 2"
fw incident create --account $ACC --title x --bogus 1
is "$RC" 2 "an unknown flag exits 2"
like "$ERR" "unknown option '--bogus'" "the unknown flag is named"
fw incident frobnicate; is "$RC" 2 "an unknown command exits 2"
fw incident show; is "$RC" 2 "a missing argument exits 2"
fw incident show INC-1 INC-2; is "$RC" 2 "an extra argument exits 2"
fw incident list --limit many; is "$RC" 2 "--limit must be a number"
fw incident list --status
is "$RC" 2 "a flag without its value exits 2"
fw nonsense; is "$RC" 2 "an unknown family exits 2"
fw; is "$RC" 2 "no command exits 2"
fw --help
is "$RC" 0 "flywheel --help exits 0"
like "$OUT" "incident +Incidents" "top help lists families"
like "$OUT" "Exit codes: 0 ok; 1 " "top help documents exit codes"
fw incident --help
like "$OUT" "reclassify ID" "family help lists commands"
fw change create --help
is "$RC" 0 "command --help exits 0"
like "$OUT" "--affected-resource RESOURCE" "command help lists its flags"
like "$OUT" "usage: flywheel change create --account ID --title TEXT" "command help shows required flags"
fw request approve -h; like "$OUT" "usage: flywheel request approve ID" "-h works too"
done_testing
