#!/usr/bin/env bash
# Faults: the runner is killed (-9) mid-step -> the execution fails with the reason, the step's
# process group is gone, the runner is restarted and the next run works; the daemon is killed mid-step
# -> after restart the execution fails explicitly ("daemon restarted"), and one waiting for approval
# keeps waiting. Nothing is left "running".
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
W=$TEST_DIR/w; mkdir -p "$W"
rb() { api "$ADMIN" POST /api/v1/runbooks "$(jq -n --arg y "$1" '{yaml:$y}')"; [ "$STATUS" = 201 ] || echo "# runbook: $BODY"; }
st() { api "$ADMIN" GET "/api/v1/executions/$1"; jf .status; }
# gone PID: the process no longer runs (a zombie waiting for init to reap it counts as gone).
gone() { for _ in $(seq 40); do { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; } && return 0; sleep 0.05; done; return 1; }
wait_status() { for _ in $(seq 100); do [ "$(st "$1")" = "$2" ] && return 0; sleep 0.05; done; return 1; }
rb "$(cat <<EOF
name: sleeper
steps:
  - name: nap
    type: exec
    command: [sh, -c, 'echo \$\$ > "\$1"; exec sleep 60', x, $W/step.pid]
EOF
)"
rb "$(printf 'name: quick\nsteps:\n  - {type: exec, command: [echo, fine]}\n')"
rb "$(printf 'name: gate\nsteps:\n  - {name: g, type: approval}\n  - {type: exec, command: [echo, passed]}\n')"

api "$ADMIN" GET /api/v1/automation/rails; RP=$(jf .runner_pid)
check "the runner process is running" kill -0 "$RP"
is "$(tr '\0' ' ' </proc/$RP/cmdline)" "flywheel __runner 3 " "it is our binary's hidden runner subcommand"
api "$ADMIN" POST /api/v1/runbooks/sleeper/executions '{}'; EX=$(jf .id)
for _ in $(seq 50); do [ -s "$W/step.pid" ] && break; sleep 0.05; done
SP=$(cat "$W/step.pid")
kill -9 "$RP"
check "the execution fails after the runner dies" wait_status "$EX" failed
api "$ADMIN" GET "/api/v1/executions/$EX"
like "$(jf .reason)" "runner process was killed by signal 9" "the reason names the runner crash"
check "the orphaned step process was killed" gone "$SP"
api "$ADMIN" GET /api/v1/automation/rails; RP2=$(jf .runner_pid)
check "a new runner was started" test "$RP2" != "$RP" -a "$RP2" != 0
api "$ADMIN" POST /api/v1/runbooks/quick/executions '{}'; Q=$(jf .id)
check "the next run works" wait_status "$Q" succeeded

# Daemon killed mid-step.
rm -f "$W/step.pid"
api "$ADMIN" POST /api/v1/runbooks/sleeper/executions '{}'; EX2=$(jf .id)
for _ in $(seq 50); do [ -s "$W/step.pid" ] && break; sleep 0.05; done
check "the step is running" wait_status "$EX2" running
api "$ADMIN" POST /api/v1/runbooks/gate/executions '{}'; G=$(jf .id)
wait_status "$G" waiting_approval
SP=$(cat "$W/step.pid")
fw_kill9
check "the runner and its step died with the daemon" gone "$SP"
fw_start
check "after restart the interrupted execution fails explicitly" wait_status "$EX2" failed
api "$ADMIN" GET "/api/v1/executions/$EX2"
like "$(jf .reason)" "daemon restarted" "the reason says the daemon restarted"
is "$(jf .steps[0].status)" failed "the interrupted step is failed"
is "$(st "$G")" waiting_approval "an execution waiting for approval keeps waiting"
A=$(mk_account 555555555555 && user appr5 '*' approver)
api "$A" POST "/api/v1/executions/$G/approvals" '{}'
check "and completes after approval" wait_status "$G" succeeded
api "$ADMIN" GET "/api/v1/executions?status=running"
is "$(jf '.items | length')" 0 "nothing is left running"
fw_stop; is "$?" 0 "SIGTERM still drains with the automation module"
done_testing
