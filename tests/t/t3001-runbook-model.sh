#!/usr/bin/env bash
# Runbook model: YAML validation with file/line/field errors, versions, inputs, dry runs,
# runbooks.d import (a bad file is reported and skipped), the five shipped runbooks load.
. "$(dirname "$0")/../lib.sh"
RBDIR=$TEST_DIR/runbooks.d; mkdir -p "$RBDIR"
cp "$FW_ROOT"/etc/runbooks.d/*.yaml "$RBDIR"/
printf 'name: broken\nsteps:\n  - name: a\n    type: shell\n    command: [ls]\n' >"$RBDIR/broken.yaml"
export FLYWHEEL_RUNBOOKS_DIR=$RBDIR
fw_start || { fail "daemon starts"; done_testing; exit 1; }

api "$ADMIN" GET /api/v1/runbooks
is "$(jf '[.items[].name] | sort | join(",")')" "disk-usage,host-diagnostics,http-health-restart,restart-service,rotate-logs" \
  "the five shipped runbooks load from runbooks.d; the broken file does not"
like "$(cat "$TEST_DIR/daemon.log")" 'broken.yaml:4: steps\[0\].type: unknown step type .shell.' \
  "the broken file is logged with file, line and field"

yaml_post() { # BODY as raw YAML
  STATUS=$(curl -s -o "$TEST_DIR/body" -w '%{http_code}' -X "${2:-POST}" -H "Authorization: Bearer $ADMIN" \
    -H 'Content-Type: application/yaml' --data-binary @- "$FW_URL${1:-/api/v1/runbooks}")
  BODY=$(cat "$TEST_DIR/body")
}
yaml_post <<'EOF'
name: t1
steps:
  - name: a
    type: exec
    command: [true]
  - name: b
    type: teleport
EOF
is "$STATUS" 422 "unknown step type: 422"
is "$(jf .error.code)" invalid_runbook "error code invalid_runbook"
is "$(jf '.error.errors[0].line')" 7 "error names the line"
is "$(jf '.error.errors[0].field')" "steps[1].type" "error names the field"
like "$(jf .error.message)" "unknown step type 'teleport'; allowed: exec, http, wait, approval, diagnostics, set" "error lists the allowed types"

yaml_post <<'EOF'
name: t1
steps: [ {type: exec, command: [true] }
EOF
is "$STATUS" 422 "invalid YAML: 422"
like "$(jf '.error.errors[0].message')" "invalid YAML" "invalid YAML is named as such"

yaml_post <<'EOF'
name: t1
bogus: 1
inputs:
  - {name: n, type: int, default: "abc"}
steps:
  - type: exec
    command: ["{{ inputs.nope }}"]
  - type: http
    url: ftp://x
rollback:
  - type: approval
EOF
is "$STATUS" 422 "several schema errors: 422"
errs=$(jf '[.error.errors[].field] | join(" ")')
like "$errs" "bogus" "unknown top-level field is reported"
like "$errs" "inputs\[0\].default" "a default failing its own type is reported"
like "$errs" "steps\[0\].command" "a templated program is reported"
like "$errs" "steps\[1\].url" "a non-http URL is reported"
like "$errs" "rollback\[0\]" "an approval as rollback step is reported"

yaml_post <<'EOF'
name: greet
description: first
manual_minutes: 5
inputs:
  - {name: who, type: string, required: true, pattern: '^[a-z]+$'}
  - {name: times, type: int, default: 2, min: 1, max: 3}
  - {name: mode, type: enum, values: [loud, quiet], default: quiet}
steps:
  - name: say
    type: exec
    command: [echo, "hello {{ inputs.who }}", "{{ inputs.times }}", "{{ inputs.mode }}"]
    env: {WHO: "{{ inputs.who }}"}
  - name: after
    type: exec
    command: [echo, "{{ steps.say.stdout }}"]
EOF
is "$STATUS" 201 "valid runbook: 201"
is "$(jf .version)" 1 "first version is 1"
yaml_post /api/v1/runbooks/greet PUT <<'EOF'
name: greet
description: second
inputs:
  - {name: who, type: string, required: true, pattern: '^[a-z]+$'}
  - {name: times, type: int, default: 2, min: 1, max: 3}
steps:
  - name: say
    type: exec
    command: [echo, "hi {{ inputs.who }}", "{{ inputs.times }}"]
EOF
is "$(jf .version)" 2 "an edit makes version 2"
api "$ADMIN" GET /api/v1/runbooks/greet/versions
is "$(jf '[.items[].version] | join(",")')" "2,1" "both versions are listed"
api "$ADMIN" GET "/api/v1/runbooks/greet?version=1"
is "$(jf .spec.description)" first "version 1 is still readable"

api "$ADMIN" POST /api/v1/runbooks/greet/executions '{"inputs":{"who":"Bob"}}'
is "$STATUS" 422 "input failing its pattern: 422"
like "$(jf .error.message)" "input 'who' does not match" "the message names the input"
api "$ADMIN" POST /api/v1/runbooks/greet/executions '{"inputs":{"times":2}}'
like "$(jf .error.message)" "input 'who' is required" "missing required input"
api "$ADMIN" POST /api/v1/runbooks/greet/executions '{"inputs":{"who":"bob","times":9}}'
like "$(jf .error.message)" "between 1 and 3" "out-of-range int"
api "$ADMIN" POST /api/v1/runbooks/greet/executions '{"inputs":{"who":"bob","extra":1}}'
like "$(jf .error.message)" "input 'extra' is not declared" "undeclared input"

api "$ADMIN" POST /api/v1/runbooks/greet/executions '{"inputs":{"who":"bob"},"dry_run":true}'
is "$STATUS" 200 "dry run: 200"
is "$(jf '.plan[0].argv | join("|")')" "echo|hi bob|2" "dry run shows the rendered argv"
api "$ADMIN" GET "/api/v1/executions?runbook=greet"
is "$(jf '.items | length')" 0 "a dry run queues nothing"

api "$ADMIN" POST /api/v1/runbooks/greet/executions '{"inputs":{"who":"bob"}}'
is "$STATUS" 201 "manual run: 201"
ID=$(jf .id)
for _ in $(seq 50); do api "$ADMIN" GET /api/v1/executions/$ID; [ "$(jf .status)" = succeeded ] && break; sleep 0.1; done
is "$(jf .status)" succeeded "execution succeeds"
is "$(jf .version)" 2 "the execution records the version it ran"
is "$(jf .steps[0].stdout)" "hi bob 2" "captured stdout"

# Role gating: a viewer may not run runbooks by hand.
mk_account 111111111111
V=$(user viewer1 111111111111 viewer)
api "$V" POST /api/v1/runbooks/greet/executions '{"account":"111111111111","inputs":{"who":"x"}}'
is "$STATUS" 403 "a viewer may not run a runbook"
api "$V" POST /api/v1/runbooks '{"yaml":"name: x\nsteps: [{type: exec, command: [true]}]"}'
is "$STATUS" 403 "a viewer may not create global runbooks"
done_testing
