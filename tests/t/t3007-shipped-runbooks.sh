#!/usr/bin/env bash
# The shipped runbooks (etc/runbooks.d) as loaded from that directory: a dry run of each of the five
# renders its plan and touches nothing; disk-usage and rotate-logs run for real through the API on
# trees this test builds under its own temp dir (never on system paths): disk-usage names the
# largest directories and deletes only old files inside its clean path; rotate-logs rotates with
# copytruncate, compresses, shifts generations and keeps at most `keep`; hostile paths are refused.
. "$(dirname "$0")/../lib.sh"
export FLYWHEEL_RUNBOOKS_DIR=$FW_ROOT/etc/runbooks.d
fw_start || { fail "daemon starts"; done_testing; exit 1; }
W=$TEST_DIR/w; mkdir -p "$W"
st() { api "$ADMIN" GET "/api/v1/executions/$1"; jf .status; }
wait_end() { for _ in $(seq 200); do case $(st "$1") in succeeded|failed|rolled_back|cancelled) return 0;; esac; sleep 0.05; done; return 1; }
# run NAME INPUTS_JSON: a real execution, waited for; leaves its JSON in BODY.
run() {
  api "$ADMIN" POST "/api/v1/runbooks/$1/executions" "{\"inputs\":$2}"
  [ "$STATUS" = 201 ] || { echo "# run $1: $STATUS $BODY"; return 1; }
  local id; id=$(jf .id); wait_end "$id"; api "$ADMIN" GET "/api/v1/executions/$id"
}
dry() { api "$ADMIN" POST "/api/v1/runbooks/$1/executions" "{\"inputs\":$2,\"dry_run\":true}"; }
step_out() { jf ".steps[] | select(.name==\"$1\") | .stdout"; }
old() { touch -d '10 days ago' "$@"; }

# --- the trees: disk usage, a clean path, things outside it, a log directory ---
D=$W/tree; C=$W/scratch; O=$W/outside; L=$W/logs
mkdir -p "$D/big/nested" "$D/medium" "$D/small" "$D/empty" "$C/sub" "$O" "$W/scratch-sibling" "$L"
head -c 3145728 /dev/urandom >"$D/big/nested/blob"    # 3 MiB
head -c 1048576 /dev/urandom >"$D/medium/blob"        # 1 MiB
head -c 65536 /dev/urandom >"$D/small/blob"           # 64 KiB
echo old >"$C/old.tmp"; echo old >"$C/sub/old.tmp"; echo new >"$C/new.tmp"; echo recent >"$C/recent.tmp"
echo keep >"$O/old.tmp"; echo keep >"$W/scratch-sibling/old.tmp"
ln -s "$O/old.tmp" "$C/link-to-outside"
old "$C/old.tmp" "$C/sub/old.tmp" "$O/old.tmp" "$W/scratch-sibling/old.tmp"
touch -h -d '10 days ago' "$C/link-to-outside"
touch -d '2 days ago' "$C/recent.tmp"
printf 'line %s\n' $(seq 1 200) >"$L/app.log"; chmod 640 "$L/app.log"
cp "$L/app.log" "$W/app.log.orig"
for g in 1 2 3; do echo "generation $g" | gzip >"$L/app.log.$g.gz"; done
echo other >"$L/other.log"

printf '#!/bin/sh\ntouch "%s"\n' "$W/ctl-called" >"$W/ctl"; chmod +x "$W/ctl"

# --- dry runs of all five: the rendered plan, nothing queued, nothing touched ---
dry disk-usage "$(jq -nc --arg p "$D" --arg c "$C" '{path:$p, clean_path:$c, max_age_days:3, threshold:100}')"
is "$STATUS" 200 "disk-usage: dry run answers 200"
is "$(jf '[.plan[].name] | join(",")')" "usage-before,largest-directories,clean-temp,check-threshold" "disk-usage: the plan lists its four steps"
is "$(jf '.plan[] | select(.name=="largest-directories") | .argv[-1]')" "$D" "disk-usage: du is given the path as one argv element"
is "$(jf '.plan[] | select(.name=="clean-temp") | .argv[-2:] | join(" ")')" "$C 3" "disk-usage: the clean step gets the clean path and max_age_days"
dry rotate-logs "$(jq -nc --arg l "$L/app.log" '{log:$l, keep:3}')"
is "$STATUS" 200 "rotate-logs: dry run answers 200"
is "$(jf '.plan[] | select(.name=="rotate") | .argv[-2:] | join(" ")')" "$L/app.log 3" "rotate-logs: the script gets the log and keep as arguments"
dry restart-service "$(jq -nc --arg c "$W/ctl" '{service:"web", ctl:$c}')"
is "$STATUS" 200 "restart-service: dry run answers 200"
is "$(jf '[.plan[] | .name + "=" + (.argv // [] | join(" "))] | join(";")')" \
  "status-before=env $W/ctl status web;restart=env $W/ctl restart web;running=" "restart-service: status, restart, wait with the control program"
dry http-health-restart "$(jq -nc --arg c "$W/ctl" '{url:"http://127.0.0.1:9/health", service:"web", ctl:$c}')"
is "$STATUS" 200 "http-health-restart: dry run answers 200"
is "$(jf '.plan[0].type + " " + .plan[0].url + " " + (.plan[0].expect_status|tostring)')" "http http://127.0.0.1:9/health [200]" "http-health-restart: the check is an http step on the url"
is "$(jf '.plan[1].argv | join(" ")')" "env $W/ctl restart web" "http-health-restart: then the restart"
dry host-diagnostics '{}'
is "$STATUS" 200 "host-diagnostics: dry run answers 200"
is "$(jf '[.plan[].name] | join(",")')" "uptime,load,memory,top-processes,recent-errors" "host-diagnostics: the plan lists its five steps"
dry restart-service '{}'
is "$STATUS" 422 "a dry run still validates inputs (restart-service without a service: 422)"
api "$ADMIN" GET /api/v1/executions
is "$(jf '.items | length')" 0 "dry runs queue nothing"
check "dry runs delete nothing and rotate nothing" test -e "$C/old.tmp" -a -e "$C/sub/old.tmp" -a ! -e "$L/app.log.4.gz"
check "the dry runs never called the control program" test ! -e "$W/ctl-called"

# --- disk-usage for real ---
run disk-usage "$(jq -nc --arg p "$D" --arg c "$C" '{path:$p, clean_path:$c, max_age_days:3, threshold:100}')"
is "$(jf .status)" succeeded "disk-usage succeeds"
out=$(step_out largest-directories)
is "$(awk '{print $2}' <<<"$out" | tr '\n' ' ')" "$D $D/big $D/medium $D/small $D/empty " \
  "largest-directories lists the tree's directories, largest first"
check "the sizes are real (big >= 3 MiB in KiB)" test "$(awk -v d="$D/big" '$2==d {print $1}' <<<"$out")" -ge 3072
like "$(step_out usage-before)" "Filesystem.*Use%" "usage-before shows df"
check "old files in the clean path are gone (top level and below)" test ! -e "$C/old.tmp" -a ! -e "$C/sub/old.tmp"
check "newer files in the clean path stay" test -e "$C/new.tmp" -a -e "$C/recent.tmp"
check "directories in the clean path stay (files only)" test -d "$C/sub"
check "an old symlink to a file outside stays, and so does its target" test -L "$C/link-to-outside" -a -e "$O/old.tmp"
check "an old file outside the clean path stays" test -e "$O/old.tmp"
check "an old file in a sibling whose name extends the clean path stays" test -e "$W/scratch-sibling/old.tmp"
is "$(step_out clean-temp | sed '/^$/d' | sort | tr '\n' ' ')" "$C/old.tmp $C/sub/old.tmp " "clean-temp prints exactly what it deleted"
check "the scanned tree is untouched" test -s "$D/big/nested/blob" -a -s "$D/medium/blob"
used=$(df -P "$D" | awk 'NR==2 {sub(/%/, "", $5); print $5}')
is "$(step_out check-threshold)" "used=$used% threshold=100%" "check-threshold reports the filesystem's use"

# Still over the threshold after cleaning: the runbook fails (so a person is paged).
if [ "$used" -ge 2 ]; then
  run disk-usage "$(jq -nc --arg p "$D" --arg c "$C" --argjson t $((used - 1)) '{path:$p, clean_path:$c, threshold:$t}')"
  is "$(jf .status)" failed "disk-usage fails when use stays above the threshold"
  is "$(jf .failed_step)" check-threshold "and names check-threshold"
else
  ok "# skip the filesystem is under 2% used"; ok "# skip"
fi
# A clean path that does not exist (the default /tmp/flywheel-clean on a fresh host) is nothing to clean.
run disk-usage "$(jq -nc --arg p "$D" --arg c "$W/no-such-dir" '{path:$p, clean_path:$c, threshold:100}')"
is "$(jf .status)" succeeded "a missing clean path is not a failure"
like "$(step_out clean-temp)" "nothing to clean" "and says so"
# A clean path that is, or goes through, a symlink is refused (find would follow it out).
ln -s "$O" "$W/link-dir"
run disk-usage "$(jq -nc --arg p "$D" --arg c "$W/link-dir" '{path:$p, clean_path:$c, max_age_days:0, threshold:100}')"
is "$(jf .status)" failed "a clean path that is a symlink is refused"
mkdir "$O/inner"; echo keep >"$O/inner/old.tmp"; old "$O/inner/old.tmp"
run disk-usage "$(jq -nc --arg p "$D" --arg c "$W/link-dir/inner" '{path:$p, clean_path:$c, max_age_days:0, threshold:100}')"
is "$(jf .status)" failed "so is one through a symlinked directory"
check "and the old files behind the symlinks stay" test -e "$O/old.tmp" -a -e "$O/inner/old.tmp"
for bad in /tmp/.. /tmp/../etc /var/tmp/x/../../etc /etc /tmp/a/./b; do
  dry disk-usage "$(jq -nc --arg c "$bad" '{clean_path:$c}')"
  is "$STATUS" 422 "clean_path $bad is refused"
done

# --- rotate-logs for real ---
exec 3>>"$L/app.log"     # a writer holding the log open, as a daemon would
ino=$(stat -c %i "$L/app.log")
run rotate-logs "$(jq -nc --arg l "$L/app.log" '{log:$l, keep:3}')"
is "$(jf .status)" succeeded "rotate-logs succeeds"
check "app.log.1.gz exists" test -f "$L/app.log.1.gz"
check "it is gzip and decompresses to the original log" cmp -s <(gzip -dc "$L/app.log.1.gz") "$W/app.log.orig"
is "$(stat -c %s "$L/app.log")" 0 "the live log is truncated"
is "$(stat -c %i "$L/app.log")" "$ino" "in place (copytruncate: same inode)"
is "$(stat -c %a "$L/app.log.1.gz")" 640 "the rotated copy keeps the log's mode"
echo "after rotation" >&3
is "$(cat "$L/app.log")" "after rotation" "a writer's open descriptor keeps writing to the live log"
check "no uncompressed app.log.1 is left" test ! -e "$L/app.log.1"
is "$(gzip -dc "$L/app.log.2.gz")" "generation 1" "older generations shift up (1 -> 2)"
is "$(gzip -dc "$L/app.log.3.gz")" "generation 2" "(2 -> 3)"
check "retention: keep=3, the oldest generation is dropped" test ! -e "$L/app.log.4.gz"
is "$(cat "$L/other.log")" other "other logs in the directory are untouched"
run rotate-logs "$(jq -nc --arg l "$L/app.log" '{log:$l, keep:3}')"
is "$(jf .status)" succeeded "a second rotation succeeds"
is "$(gzip -dc "$L/app.log.1.gz")" "after rotation" "the new .1.gz holds what was written since"
check "the previous .1.gz became .2.gz" cmp -s <(gzip -dc "$L/app.log.2.gz") "$W/app.log.orig"
is "$(gzip -dc "$L/app.log.3.gz")" "generation 1" "and .2.gz became .3.gz"
is "$(cd "$L" && ls app.log.*)" "$(printf 'app.log.1.gz\napp.log.2.gz\napp.log.3.gz')" "exactly keep=3 generations remain"
exec 3>&-
# A symlink planted in a world-writable directory must not make the runbook truncate its target.
echo precious >"$O/target"; ln -s "$O/target" "$L/evil.log"
run rotate-logs "$(jq -nc --arg l "$L/evil.log" '{log:$l}')"
is "$(jf .status)" failed "rotating a symlink is refused"
is "$(cat "$O/target")" precious "the symlink's target is not truncated"
run rotate-logs "$(jq -nc --arg l "$W/link-dir/target" '{log:$l}')"
is "$(jf .status)" failed "rotating a log through a symlinked directory is refused"
is "$(cat "$O/target")" precious "and its target is not truncated either"
for bad in /var/log/../../etc/passwd /tmp/../etc/shadow /tmp/x/../../etc/passwd; do
  dry rotate-logs "$(jq -nc --arg l "$bad" '{log:$l}')"
  is "$STATUS" 422 "log $bad is refused"
done
done_testing
