#!/usr/bin/env bash
# Step types end to end: exec (argv only: shell metacharacters stay inert; minimal env; cwd),
# timeouts (TERM then KILL, whole process group), output caps, http, wait (duration, until),
# set, diagnostics attached to the ticket, rollback in reverse order, cancel.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
W=$TEST_DIR/w; mkdir -p "$W"
rb() { api "$ADMIN" POST /api/v1/runbooks "$(jq -n --arg y "$1" '{yaml:$y}')"; [ "$STATUS" = 201 ] || echo "# runbook: $BODY"; }
run() { api "$ADMIN" POST "/api/v1/runbooks/$1/executions" "${2:-{\}}"; EX=$(jf .id); }
wait_end() { # wait_end ID [seconds]
  for _ in $(seq $((${2:-10} * 20))); do
    api "$ADMIN" GET "/api/v1/executions/$1"
    case $(jf .status) in succeeded|failed|rolled_back|cancelled) return 0;; esac
    sleep 0.05
  done; return 1
}

# --- injection: a hostile value is one argv element, executes nothing ---
rb "$(cat <<EOF
name: argv
inputs: [{name: v, type: string}]
steps:
  - name: show
    type: exec
    command: [python3, -c, 'import sys, json; print(json.dumps(sys.argv[1:]))', '{{ inputs.v }}', 'x{{ inputs.v }}y']
    env: {VAL: '{{ inputs.v }}'}
  - name: env
    type: exec
    command: [env]
  - name: cwd
    type: exec
    command: [pwd]
    cwd: $W
EOF
)"
EVIL='$(touch '"$W"'/pwned); ; | & `touch '"$W"'/pwned2` \ '"'"'"; rm -rf /'
run argv "$(jq -n --arg v "$EVIL" '{inputs:{v:$v}}')"
wait_end "$EX"
is "$(jf .status)" succeeded "the argv step succeeds"
is "$(jf '.steps[0].stdout | fromjson | length')" 2 "the hostile value stays exactly one argv element (two elements total)"
is "$(jf '.steps[0].stdout | fromjson | .[0]')" "$EVIL" "the element arrives byte for byte"
is "$(jf '.steps[0].stdout | fromjson | .[1]')" "x${EVIL}y" "a template inside an element stays inside it"
check "no file was created by the metacharacters" test ! -e "$W/pwned" -a ! -e "$W/pwned2"
envout=$(jf .steps[1].stdout)
like "$envout" "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "steps get a fixed PATH"
like "$envout" "FLYWHEEL_EXECUTION=$EX" "steps see their execution id"
check "the daemon's environment does not leak (no FLYWHEEL_BIN/TEST vars)" bash -c "! grep -q '^FW_\|^TEST_DIR' <<<'$envout'"
is "$(jf .steps[2].stdout)" "$W" "cwd is honoured"

# --- timeouts: TERM first, then KILL, and the whole process group goes ---
cat >"$W/stubborn.sh" <<'EOF'
#!/bin/sh
trap 'echo got-term; ' TERM
sleep 30 &
echo $! > "$1"
while :; do sleep 0.1; done
EOF
chmod +x "$W/stubborn.sh"
rb "$(cat <<EOF
name: slow
steps:
  - name: stubborn
    type: exec
    command: [$W/stubborn.sh, $W/child.pid]
    timeout: 1s
    grace: 500ms
EOF
)"
t0=$(date +%s%N); run slow; wait_end "$EX"; t1=$(date +%s%N)
is "$(jf .status)" failed "a step past its timeout fails"
is "$(jf .steps[0].timed_out)" true "the step is marked timed_out"
like "$(jf .steps[0].stdout)" "got-term" "SIGTERM came first (the step trapped it)"
is "$(jf .steps[0].signal)" 9 "then SIGKILL after the grace period"
ms=$(( (t1 - t0) / 1000000 ))
check "it ended within timeout + grace + slack ($ms ms)" test "$ms" -lt 4000
sleep 0.2
check "the step's background child died with its group" bash -c "! kill -0 \$(cat $W/child.pid) 2>/dev/null"

# --- output cap ---
rb "$(cat <<'EOF'
name: noisy
steps:
  - name: flood
    type: exec
    command: [head, -c, "500000", /dev/zero]
    max_output: 1024
EOF
)"
run noisy; wait_end "$EX"
is "$(jf '.steps[0].stdout | length')" 1024 "stdout is capped at max_output"
is "$(jf .steps[0].truncated)" true "and marked truncated"
is "$(jf .status)" succeeded "a capped step still succeeds"

# --- http ---
HP=$(free_port); mkdir -p "$W/www"; echo healthy >"$W/www/health"
(cd "$W/www" && exec python3 -m http.server "$HP" --bind 127.0.0.1 >/dev/null 2>&1) & HPID=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$HP/health" >/dev/null && break; sleep 0.1; done
rb "$(cat <<EOF
name: web
inputs: [{name: path, type: string, default: health}]
steps:
  - name: get
    type: http
    url: "http://127.0.0.1:$HP/{{ inputs.path }}"
    headers: {X-Test: "{{ inputs.path }}"}
    expect_status: 200
EOF
)"
run web; wait_end "$EX"
is "$(jf .status)" succeeded "http step with the expected status succeeds"
is "$(jf .steps[0].stdout)" healthy "the body is captured"
like "$(jf .steps[0].stderr)" "HTTP 200" "the status is recorded"
run web '{"inputs":{"path":"missing"}}'; wait_end "$EX"
is "$(jf .status)" failed "an unexpected status (404) fails the step"
like "$(jf .steps[0].stderr)" "HTTP 404" "and says which status came"

# --- wait: duration and until ---
rb "$(cat <<EOF
name: waiter
steps:
  - name: probe
    type: exec
    command: [test, -e, $W/flag]
    continue_on_failure: true
  - name: pause
    type: wait
    duration: 300ms
  - name: until-flag
    type: wait
    until: {step: probe, exit_code: 0}
    interval: 200ms
    timeout: 5s
EOF
)"
run waiter; sleep 0.8; touch "$W/flag"; wait_end "$EX"
is "$(jf .status)" succeeded "wait until succeeds once the condition holds"
is "$(jf '.steps[0].status')" failed "the probe failed at first (continue_on_failure)"
check "the duration wait lasted at least 300 ms" test "$(jf '.steps[1].duration_ms')" -ge 300
check "until retried the probe more than once" test "$(jf '.steps[2].attempts')" -ge 2
rm -f "$W/flag"
rb "$(cat <<EOF
name: waiter2
steps:
  - name: probe
    type: exec
    command: [test, -e, $W/never]
    continue_on_failure: true
  - name: until-flag
    type: wait
    until: {step: probe, exit_code: 0}
    interval: 100ms
    timeout: 500ms
EOF
)"
run waiter2; wait_end "$EX"
is "$(jf .status)" failed "wait until fails when the condition never holds"
like "$(jf '.steps[1].error')" "not met before the timeout" "with a clear reason"

# --- set + diagnostics on a ticket ---
mk_account 222222222222
api "$ADMIN" POST /api/v1/incidents '{"account":"222222222222","title":"disk full"}'; INC=$(jf .id)
rb "$(cat <<'EOF'
name: diag
steps:
  - name: facts
    type: diagnostics
    command: [echo, "diagnosed {{ ticket.id }}"]
  - name: note
    type: set
    ticket: {assignee: "automation-{{ steps.facts.exit_code }}", status: investigating}
EOF
)"
run diag "{\"ticket\":\"$INC\"}"; wait_end "$EX"
is "$(jf .status)" succeeded "diagnostics + set succeed"
api "$ADMIN" GET "/api/v1/incidents/$INC"
is "$(jf .assignee)" "automation-0" "set wrote a templated ticket field"
is "$(jf .status)" investigating "set moved the ticket's status"
api "$ADMIN" GET "/api/v1/incidents/$INC/timeline"
is "$(jf '[.items[] | select(.type=="diagnostics")][0].body.output')" "diagnosed $INC" "diagnostics output is attached to the ticket"

# --- rollback in reverse order ---
rb "$(cat <<EOF
name: rollme
steps:
  - name: one
    type: exec
    command: [sh, -c, 'echo one >> "\$1"', x, $W/order]
  - name: boom
    type: exec
    command: ["false"]
rollback:
  - name: undo-a
    type: exec
    command: [sh, -c, 'echo undo-a >> "\$1"', x, $W/order]
  - name: undo-b
    type: exec
    command: [sh, -c, 'echo undo-b >> "\$1"', x, $W/order]
EOF
)"
run rollme; wait_end "$EX"
is "$(jf .status)" rolled_back "a failed step leads to rolled_back"
is "$(jf .failed_step)" boom "the failed step is named"
is "$(tr '\n' ' ' <"$W/order")" "one undo-b undo-a " "rollback steps ran in reverse order"

# --- cancel ---
rb "$(cat <<'EOF'
name: longrun
steps:
  - name: nap
    type: exec
    command: [sleep, "30"]
EOF
)"
run longrun; sleep 0.4
api "$ADMIN" POST "/api/v1/executions/$EX/cancel"
is "$STATUS" 202 "cancel is accepted"
wait_end "$EX" 5
is "$(jf .status)" cancelled "the execution is cancelled"
api "$ADMIN" POST "/api/v1/executions/$EX/cancel"
is "$STATUS" 409 "cancelling an ended execution: 409"
kill $HPID 2>/dev/null
done_testing
