#!/usr/bin/env bash
# Approval steps: N distinct approvers, no double approval, the starter may not approve, roles,
# approval timeout fails (and rolls back), every approval is audited.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
mk_account 333333333333
OP=$(user op1 333333333333 operator)
A1=$(user appr1 333333333333 approver)
A2=$(user appr2 333333333333 approver)
VW=$(user view1 333333333333 viewer)
rb() { api "$ADMIN" POST /api/v1/runbooks "$(jq -n --arg y "$1" '{yaml:$y}')"; [ "$STATUS" = 201 ] || echo "# runbook: $BODY"; }
st() { api "$ADMIN" GET "/api/v1/executions/$1"; jf .status; }
wait_status() { for _ in $(seq 100); do [ "$(st "$1")" = "$2" ] && return 0; sleep 0.05; done; return 1; }
rb "$(cat <<'EOF'
name: gated
account: "333333333333"
steps:
  - name: before
    type: exec
    command: [echo, before]
  - name: two-people
    type: approval
    approvers: 2
    timeout: 1h
  - name: after
    type: exec
    command: [echo, after]
EOF
)"
api "$OP" POST /api/v1/runbooks/gated/executions '{}'; is "$STATUS" 201 "an operator starts the runbook"
EX=$(jf .id)
check "it pauses waiting for approval" wait_status "$EX" waiting_approval
api "$ADMIN" GET "/api/v1/executions/$EX"
is "$(jf '.steps[1].approvals_needed')" 2 "the step says two approvals are needed"
is "$(jf '.steps | length')" 2 "the step after the gate has not run"
api "$OP" POST "/api/v1/executions/$EX/approvals" '{}'
is "$STATUS" 403 "the operator who started it may not approve (and lacks the role)"
api "$VW" POST "/api/v1/executions/$EX/approvals" '{}'
is "$STATUS" 403 "a viewer may not approve"
api "$A1" POST "/api/v1/executions/$EX/approvals" '{"comment":"looks fine"}'
is "$STATUS" 201 "first approver approves"
is "$(jf .approvals)" 1 "one approval counted"
api "$A1" POST "/api/v1/executions/$EX/approvals" '{}'
is "$STATUS" 409 "the same approver twice: 409"
is "$(jf .error.code)" already_approved "code already_approved"
sleep 0.3
is "$(st "$EX")" waiting_approval "one approval is not enough"
api "$A2" POST "/api/v1/executions/$EX/approvals" '{}'
is "$STATUS" 201 "second, distinct approver approves"
check "the execution continues and succeeds" wait_status "$EX" succeeded
api "$ADMIN" GET "/api/v1/executions/$EX"
is "$(jf '.steps[2].stdout')" after "the step after the gate ran"
api "$ADMIN" GET "/api/v1/audit?object=$EX"
n=$(jq '[.items[]? | select(.action=="execution.approve")] | length' <<<"$BODY")
[ "$n" = 0 ] && { api "$ADMIN" GET "/api/v1/audit?limit=500"; n=$(jq "[.items[]? | select(.action==\"execution.approve\" and .object==\"$EX\")] | length" <<<"$BODY"); }
is "$n" 2 "both approvals are in the audit log"

# The starter may not approve even with the approver role.
BOTH=$(mk_principal both1 '[{"account":"333333333333","role":"operator"},{"account":"333333333333","role":"approver"}]' >/dev/null && mk_token "$PRN" >/dev/null && echo "$TOKEN")
api "$BOTH" POST /api/v1/runbooks/gated/executions '{}'; EX2=$(jf .id)
wait_status "$EX2" waiting_approval
api "$BOTH" POST "/api/v1/executions/$EX2/approvals" '{}'
is "$STATUS" 403 "whoever started an execution may not approve it, even as an approver"
is "$(jf .error.code)" two_person_rule "code two_person_rule"
api "$ADMIN" POST "/api/v1/executions/$EX2/cancel"; wait_status "$EX2" cancelled

# Approval timeout: fails and runs the rollback.
rb "$(cat <<'EOF'
name: gated-timeout
account: "333333333333"
steps:
  - name: gate
    type: approval
    timeout: 400ms
rollback:
  - name: undo
    type: exec
    command: [echo, undone]
EOF
)"
api "$OP" POST /api/v1/runbooks/gated-timeout/executions '{}'; EX3=$(jf .id)
check "an unanswered approval times out and rolls back" wait_status "$EX3" rolled_back
api "$ADMIN" GET "/api/v1/executions/$EX3"
like "$(jf '.steps[0].error')" "approval timed out" "the reason says the approval timed out"
done_testing
