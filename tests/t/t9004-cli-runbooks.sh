#!/usr/bin/env bash
# flywheel runbook|execution: the CLI lists, shows, dry-runs and runs runbooks on the real daemon;
# run --wait and execution watch print each step live and exit 0 only on success; cancel stops a
# long step; approve drives an approval step; exit codes and --help hold up.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
cd "$TEST_DIR" || exit 1
export HOME="$TEST_DIR/home" XDG_CONFIG_HOME="$TEST_DIR/xdg" FLYWHEEL_URL="$FW_URL" FLYWHEEL_TOKEN="$ADMIN"
# fw ARGS…: runs the CLI; sets OUT (stdout), ERR (stderr), RC.
fw() { OUT=$("$FW_BIN" "$@" 2>"$TEST_DIR/cli.err"); RC=$?; ERR=$(cat "$TEST_DIR/cli.err"); }
ACC=940000000001
mk_account $ACC || { fail "account"; done_testing; exit 1; }
APPR=$(user appr1 $ACC approver)
rb() { api "$ADMIN" POST /api/v1/runbooks "$(jq -n --arg y "$1" '{yaml:$y}')"; [ "$STATUS" = 201 ] || echo "# runbook: $BODY"; }
st() { api "$ADMIN" GET "/api/v1/executions/$1"; jf .status; }
wait_status() { for _ in $(seq 200); do [ "$(st "$1")" = "$2" ] && return 0; sleep 0.05; done; return 1; }
# wait_for FILE REGEX: until the file has a line matching (5 s at most).
wait_for() { for _ in $(seq 100); do grep -Eq "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }

rb "$(cat <<'EOF'
name: greet
description: Say hello, count, nap
inputs:
  - {name: who, type: string, default: world}
  - {name: count, type: int, min: 1, max: 9, default: 1}
steps:
  - name: hello
    type: exec
    command: [echo, "hi {{ inputs.who }} x{{ inputs.count }}"]
  - name: nap
    type: exec
    command: [sleep, "1"]
EOF
)"
rb "$(cat <<'EOF'
name: broken
description: The second step fails with exit code 3
steps:
  - name: fine
    type: exec
    command: ["true"]
  - name: bad
    type: exec
    command: [sh, -c, "exit 3"]
rollback:
  - name: undo
    type: exec
    command: [echo, undone]
EOF
)"
rb "$(cat <<'EOF'
name: slow
steps:
  - name: forever
    type: exec
    command: [sleep, "60"]
    timeout: 5m
EOF
)"
rb "$(cat <<'EOF'
name: gated
account: "940000000001"
steps:
  - name: gate
    type: approval
    approvers: 1
    timeout: 1h
  - name: after
    type: exec
    command: [echo, after]
EOF
)"

# ---- runbook list / show ----
fw runbook list
is "$RC" 0 "runbook list exits 0"
like "$(head -1 <<<"$OUT")" '^NAME +VERSION +ACCOUNT +STEPS +TRIGGERS +DESCRIPTION$' "runbook list prints a header"
like "$OUT" $'\n''greet +1 +- +2 +- +Say hello, count, nap' "runbook list shows a runbook's columns"
like "$OUT" "gated +1 +$ACC +2 " "… with its account"
fw runbook list --json
is "$(jq -r '[.items[].name] | join(",")' <<<"$OUT")" "broken,gated,greet,slow" "runbook list --json is the API's list"
fw runbook show greet
is "$RC" 0 "runbook show exits 0"
like "$OUT" "description +Say hello, count, nap" "show prints the fields"
like "$OUT" "count +int +- +default 1; min 1; max 9" "show lists inputs with their constraints"
like "$OUT" "1 +hello +exec +main +echo 'hi \{\{ inputs.who \}\} x\{\{ inputs.count \}\}'" "show lists steps with their command"
fw runbook show broken
like "$OUT" "3 +undo +exec +rollback +echo undone" "show lists rollback steps"
fw runbook show greet --yaml
like "$OUT" "^name: greet" "show --yaml prints the saved source"
fw runbook show nosuch
is "$RC" 1 "show of a missing runbook exits 1"
like "$ERR" 'runbook nosuch not found \(not_found, HTTP 404\)' "… and says why"

# ---- dry run ----
api "$ADMIN" GET /api/v1/executions; before=$(jf '.items | length')
fw runbook run greet --dry-run --input who=ann --input count=3
is "$RC" 0 "dry run exits 0"
like "$OUT" "dry run of greet version 1: nothing was run" "dry run says nothing ran"
like "$OUT" "1 +hello +exec +main +echo 'hi ann x3'" "dry run shows the rendered command"
fw runbook run greet --dry-run --input count=4 --json
is "$(jq -c '.plan[0].argv' <<<"$OUT")" '["echo","hi world x4"]' "dry run --json: defaults and typed inputs rendered"
api "$ADMIN" GET /api/v1/executions
is "$(jf '.items | length')" "$before" "a dry run creates no execution"
fw runbook run greet --dry-run --input count=many
is "$RC" 2 "a non-integer value for an int input is a usage error"
like "$ERR" "input 'count' is of type int; 'many' is not one" "… naming the input and its type"
fw runbook run greet --dry-run --input count=12
is "$RC" 1 "an input out of range is refused by the daemon (exit 1)"
like "$ERR" "input 'count' must be between 1 and 9 \(invalid_input, HTTP 422\)" "… with the daemon's reason"
fw runbook run greet --input noequals
is "$RC" 2 "--input without = is a usage error"
fw runbook run greet --dry-run --wait
is "$RC" 2 "--dry-run with --wait is a usage error"

# ---- run --wait: live progress, success ----
fw runbook run greet --input who=bo --wait
is "$RC" 0 "run --wait of a succeeding runbook exits 0"
like "$(head -1 <<<"$OUT")" '^EXE-[0-9]+ \(runbook greet\): (queued|running)$' "run --wait names the execution first"
like "$OUT" '[0-9]{2}:[0-9]{2}:[0-9]{2} hello started \(exec\)' "each step's start is printed"
like "$OUT" '[0-9]{2}:[0-9]{2}:[0-9]{2} hello succeeded: exit 0, [0-9]+ms' "each step's end: status, exit code, duration"
like "$OUT" 'nap succeeded: exit 0, 1\.[0-9]s' "a 1 s step shows about 1 s"
like "$(tail -1 <<<"$OUT")" '^EXE-[0-9]+ succeeded in [0-9.]+m?s$' "the last line says how it ended"
order=$(grep -Eo '(hello|nap) (started|succeeded)' <<<"$OUT" | tr '\n' ,)
is "$order" "hello started,hello succeeded,nap started,nap succeeded," "steps are printed in order, start before end"
EX_OK=$(grep -Eo '^EXE-[0-9]+' <<<"$OUT" | head -1)
is "$(st "$EX_OK")" succeeded "the daemon agrees it succeeded"
api "$ADMIN" GET "/api/v1/executions/$EX_OK"
is "$(jf '.steps[0].stdout')" "hi bo x1" "the run sent the input"

# The progress is live: while the 1 s nap runs, its start is on screen and its end is not.
fw runbook run greet
like "$OUT" '^EXE-[0-9]+ queued \(runbook greet\); follow it with: flywheel execution watch EXE-[0-9]+$' \
  "run without --wait prints the id and how to follow it"
EX=$(grep -Eo '^EXE-[0-9]+' <<<"$OUT")
"$FW_BIN" execution watch "$EX" --interval 100 >"$TEST_DIR/watch.out" 2>&1 & WPID=$!
check "watch shows the running step while it runs" wait_for "$TEST_DIR/watch.out" 'nap started'
if grep -q 'nap succeeded' "$TEST_DIR/watch.out"; then fail "… and not yet its end"; else ok "… and not yet its end"; fi
wait $WPID; is "$?" 0 "execution watch exits 0 when it succeeds"
like "$(tail -1 "$TEST_DIR/watch.out")" "^$EX succeeded in " "watch ends with the outcome"

fw execution watch "$EX" --json
is "$RC/$(jq -r .status <<<"$OUT")" "0/succeeded" "watch --json of an ended execution prints it and exits 0"

# ---- failure ----
fw runbook run broken --wait
is "$RC" 1 "run --wait of a failing runbook exits 1"
like "$OUT" 'bad failed: exit 3, [0-9]+ms \(exit code 3\)' "the failed step shows its exit code and error"
like "$OUT" 'rollback: undo started \(exec\)' "rollback steps are printed with their phase"
like "$OUT" 'rollback: undo succeeded: exit 0' "… start and end"
like "$(tail -1 <<<"$OUT")" '^EXE-[0-9]+ rolled_back in [0-9.]+m?s: ' "the last line gives the outcome and reason"
EX_BAD=$(grep -Eo '^EXE-[0-9]+' <<<"$OUT" | head -1)
fw execution watch "$EX_BAD"
is "$RC" 1 "watching an execution that failed exits 1"

# ---- list / show ----
fw execution list
is "$RC" 0 "execution list exits 0"
like "$(head -1 <<<"$OUT")" '^ID +RUNBOOK +STATUS +TRIGGER +ACCOUNT +TICKET +CREATED +STEP TIME +REASON$' "execution list header"
like "$OUT" "$EX_BAD +broken +rolled_back +manual " "execution list shows runbook, status and trigger"
fw execution list --runbook broken --json
is "$(jq -r '[.items[].id] | join(",")' <<<"$OUT")" "$EX_BAD" "execution list --runbook filters"
fw execution list --status succeeded --json
is "$(jq '[.items[] | select(.status != "succeeded")] | length' <<<"$OUT")/$(jq '.items | length' <<<"$OUT")" 0/2 \
  "execution list --status filters"
fw execution list --limit 1 --all --json
api "$ADMIN" GET '/api/v1/executions?limit=500'
is "$(jq '.items | length' <<<"$OUT")" "$(jf '.items | length')" "execution list --all follows the cursor"
fw execution show "$EX_BAD"
is "$RC" 0 "execution show exits 0"
like "$OUT" "status +rolled_back" "show prints the status"
like "$OUT" "failed_step +bad" "… and the failed step"
like "$OUT" "bad +exec +main +failed +3 +[0-9:]{8} +[0-9]+ms +exit code 3" "show's step table: status, exit code, duration, error"
fw execution show "$EX_OK" --output
like "$OUT" $'--- hello stdout ---\nhi bo x1' "show --output prints captured output"
fw execution show EXE-99999
is "$RC" 1 "show of a missing execution exits 1"

# ---- cancel a long one ----
fw runbook run slow --json
EX_SLOW=$(jq -r .id <<<"$OUT")
like "$EX_SLOW" '^EXE-[0-9]+$' "run --json prints the new execution"
"$FW_BIN" execution watch "$EX_SLOW" >"$TEST_DIR/slow.out" 2>&1 & WPID=$!
check "the long step is seen running" wait_for "$TEST_DIR/slow.out" 'forever started'
t0=$SECONDS
fw execution cancel "$EX_SLOW"
is "$RC" 0 "execution cancel exits 0"
like "$OUT" "^$EX_SLOW: cancel requested" "cancel says it was requested"
check "the execution ends cancelled" wait_status "$EX_SLOW" cancelled
wait $WPID; is "$?" 1 "a watch of a cancelled execution exits 1"
check "the 60 s step was stopped, not waited for" test $((SECONDS - t0)) -lt 20
like "$(cat "$TEST_DIR/slow.out")" "forever cancelled" "watch shows the step cancelled"
like "$(tail -1 "$TEST_DIR/slow.out")" "^$EX_SLOW cancelled in .*cancelled on request" "… and the execution's end"
fw execution cancel "$EX_SLOW"
is "$RC" 1 "cancelling an ended execution exits 1"
like "$ERR" 'has already ended \(invalid_transition, HTTP 409\)' "… and says it has ended"

# ---- approval steps ----
fw runbook run gated --json
EX_G=$(jq -r .id <<<"$OUT")
check "the gated execution waits for approval" wait_status "$EX_G" waiting_approval
"$FW_BIN" execution watch "$EX_G" --interval 100 >"$TEST_DIR/gate.out" 2>&1 & WPID=$!
check "watch shows the approval it waits for" wait_for "$TEST_DIR/gate.out" 'gate waiting for approval \(0 of 1\)'
fw runbook approve "$EX_G"
is "$RC" 1 "whoever started it may not approve (exit 1)"
like "$ERR" 'two_person_rule, HTTP 403' "… the two-person rule says why"
fw runbook approve "$EX_G" --comment "looks fine" --token "$APPR"
is "$RC" 0 "an approver approves"
like "$OUT" "^$EX_G: step gate approved \(1 of 1\)$" "approve reports the count"
wait $WPID; is "$?" 0 "the watch exits 0 once the approved execution succeeds"
like "$(cat "$TEST_DIR/gate.out")" 'after succeeded: exit 0' "the step after the gate ran"
fw execution approve "$EX_G" --token "$APPR"
is "$RC" 1 "approving an execution that waits for nothing exits 1"

# ---- usage, connection, help ----
fw runbook run
is "$RC" 2 "run without a name is a usage error"
fw execution watch "$EX_OK" --interval 1
is "$RC" 2 "an interval under 50 ms is a usage error"
fw execution frobnicate
is "$RC" 2 "an unknown command is a usage error"
fw runbook list --url http://127.0.0.1:1
is "$RC" 3 "no daemon: exit 3"
fw execution list --token fw_nope
is "$RC" 3 "a rejected token: exit 3"
fw runbook --help
is "$RC" 0 "runbook --help exits 0"
like "$OUT" "run NAME +Run a runbook by hand" "runbook --help lists run"
like "$OUT" "approve EXECUTION" "… and approve"
fw execution watch --help
like "$OUT" "Exits 0 when it succeeded, 1 when it failed" "watch --help documents its exit codes"
fw runbook run --help
like "$OUT" "--input NAME=VALUE +an input of the runbook \(repeatable\)" "run --help lists --input"
fw --help
like "$OUT" "runbook +Runbooks" "flywheel --help lists runbook"
like "$OUT" "execution +Runbook executions" "… and execution"

done_testing
