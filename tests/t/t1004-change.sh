#!/usr/bin/env bash
# Change requests: draft → submitted → in_review → approved|rejected → scheduled → executing →
# completed|failed → rolled_back; cancel before execution; the impact assessment gate before review;
# the two-person rule for high risk (two different approvers, neither the author).
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
A=111111111111
mk_account $A
OP=$(user op $A operator); AP1=$(user ap1 $A approver); AP2=$(user ap2 $A approver); RQ=$(user rq $A requester)
ADM_A=$(user adm $A admin)
IA='"risk":"low","affected_resources":["i-0abc"],"rollback_plan":"restore the snapshot"'

api "$OP" POST /api/v1/changes "{\"account\":\"$A\",\"title\":\"patch kernel\"}"
is "$STATUS/$(jf .status)" 201/draft "a change starts as a draft"
C=$(jf .id)
like "$C" '^CHG-[0-9]+$' "change ids look like CHG-n"
is "$(jf '.approvals | length')" 0 "… with no approvals"
api "$OP" POST /api/v1/changes "{\"account\":\"$A\",\"title\":\"x\",\"risk\":\"extreme\"}"
is "$STATUS/$(jf .error.code)" 422/invalid_field "risk must be low, medium or high"
api "$OP" POST /api/v1/changes "{\"account\":\"$A\",\"title\":\"x\",\"affected_resources\":[\"\"]}"
is "$STATUS" 422 "affected resources must be non-empty strings"
api "$OP" POST /api/v1/changes "{\"account\":\"$A\",\"title\":\"x\",\"scheduled_at\":\"tomorrow\"}"
is "$STATUS" 422 "scheduled_at must be RFC 3339"
like "$(jf .error.message)" scheduled_at "… and the message names it"
api "$OP" POST /api/v1/incidents "{\"account\":\"$A\",\"title\":\"x\",\"rollback_plan\":\"y\"}"
is "$STATUS" 422 "an incident takes no rollback plan"

api "$OP" PATCH "/api/v1/changes/$C" '{"status":"in_review"}'
is "$STATUS" 409 "draft -> in_review skips submission: refused"
api "$OP" PATCH "/api/v1/changes/$C" '{"status":"submitted"}'
is "$(jf .status)" submitted "draft -> submitted"
api "$OP" PATCH "/api/v1/changes/$C" '{"status":"in_review"}'
is "$STATUS/$(jf .error.code)" 422/impact_assessment_required "review needs the impact assessment"
like "$(jf .error.message)" "'risk'" "… and says what is missing first (risk)"
api "$OP" PATCH "/api/v1/changes/$C" '{"status":"in_review","risk":"low"}'
is "$STATUS" 422 "risk alone is not enough"
like "$(jf .error.message)" "affected_resources" "… affected resources are next"
api "$OP" GET "/api/v1/changes/$C"
is "$(jf '.risk // "unset"')/$(jf .status)" unset/submitted "the refused PATCH stored nothing"
api "$OP" PATCH "/api/v1/changes/$C" '{"status":"in_review","risk":"low","affected_resources":["i-0abc"]}'
like "$(jf .error.message)" "rollback_plan" "… then the rollback plan"
api "$OP" PATCH "/api/v1/changes/$C" '{"status":"in_review","risk":"low","affected_resources":["i-0abc"],"rollback_plan":""}'
is "$STATUS" 422 "an empty rollback plan does not count"
api "$OP" PATCH "/api/v1/changes/$C" "{\"status\":\"in_review\",$IA}"
is "$STATUS/$(jf .status)" 200/in_review "with risk, resources and rollback plan it enters review"
api "$OP" PATCH "/api/v1/changes/$C" '{"status":"approved"}'
is "$STATUS" 403 "an operator cannot approve"
api "$AP1" PATCH "/api/v1/changes/$C" '{"status":"approved"}'
is "$STATUS/$(jf .error.code)" 409/approvals_required "approval goes through /approvals, not a status PATCH"
api "$OP" POST "/api/v1/changes/$C/approvals" '{}'
is "$STATUS" 403 "an operator cannot give an approval"
api "$AP1" POST "/api/v1/changes/$C/approvals" '{"comment":"lgtm"}'
is "$STATUS/$(jf .status)" 200/approved "one approval approves a low-risk change"
is "$(jf '.approvals[0].comment')" lgtm "the approval and its comment are recorded"
api "$AP2" POST "/api/v1/changes/$C/approvals" '{}'
is "$STATUS" 409 "approvals are given in review only"
api "$OP" PATCH "/api/v1/changes/$C" '{"status":"scheduled","scheduled_at":"2030-01-01T02:00:00Z"}'
is "$STATUS/$(jf .status)/$(jf .scheduled_at)" 200/scheduled/2030-01-01T02:00:00Z "approved -> scheduled"
api "$OP" PATCH "/api/v1/changes/$C" '{"status":"executing"}'; is "$(jf .status)" executing "scheduled -> executing"
api "$OP" PATCH "/api/v1/changes/$C" '{"status":"cancelled"}'
is "$STATUS" 409 "no cancel once executing"
api "$OP" PATCH "/api/v1/changes/$C" '{"status":"failed"}'; is "$(jf .status)" failed "executing -> failed"
api "$OP" PATCH "/api/v1/changes/$C" '{"status":"rolled_back"}'; is "$STATUS/$(jf .status)" 200/rolled_back "failed -> rolled_back"
api "$OP" PATCH "/api/v1/changes/$C" '{"status":"executing"}'; is "$STATUS" 409 "rolled_back is final"

# A successful change, executed right after approval.
api "$OP" POST /api/v1/changes "{\"account\":\"$A\",\"title\":\"resize\",$IA}"; C2=$(jf .id)
for s in submitted in_review; do api "$OP" PATCH "/api/v1/changes/$C2" "{\"status\":\"$s\"}"; done
api "$AP2" POST "/api/v1/changes/$C2/approvals" ''
is "$(jf .status)" approved "approval without a body"
api "$OP" PATCH "/api/v1/changes/$C2" '{"status":"executing"}'; is "$(jf .status)" executing "approved -> executing"
api "$OP" PATCH "/api/v1/changes/$C2" '{"status":"completed"}'; is "$STATUS/$(jf .status)" 200/completed "executing -> completed"
api "$OP" PATCH "/api/v1/changes/$C2" '{"status":"rolled_back"}'; is "$STATUS" 409 "completed is final"

# Rejection, and cancels before execution.
api "$OP" POST /api/v1/changes "{\"account\":\"$A\",\"title\":\"risky\",$IA}"; C3=$(jf .id)
for s in submitted in_review; do api "$OP" PATCH "/api/v1/changes/$C3" "{\"status\":\"$s\"}"; done
api "$AP1" PATCH "/api/v1/changes/$C3" '{"status":"rejected","note":"not now"}'
is "$STATUS/$(jf .status)" 200/rejected "the approver rejects"
api "$OP" PATCH "/api/v1/changes/$C3" '{"status":"submitted"}'; is "$STATUS" 409 "rejected is final"
for from in draft submitted in_review approved scheduled; do
  api "$OP" POST /api/v1/changes "{\"account\":\"$A\",\"title\":\"cancel from $from\",$IA}"; c=$(jf .id)
  for s in submitted in_review; do
    [ "$from" = draft ] && break
    api "$OP" PATCH "/api/v1/changes/$c" "{\"status\":\"$s\"}"
    [ "$from" = "$s" ] && break
  done
  case $from in approved|scheduled) api "$AP1" POST "/api/v1/changes/$c/approvals" '{}';; esac
  [ "$from" = scheduled ] && api "$OP" PATCH "/api/v1/changes/$c" '{"status":"scheduled"}'
  api "$OP" GET "/api/v1/changes/$c"; st=$(jf .status)
  api "$OP" PATCH "/api/v1/changes/$c" '{"status":"cancelled"}'
  is "$st/$STATUS/$(jf .status)" "$from/200/cancelled" "cancel from $from"
done

# High risk: two different approvers, neither the author.
HIGH='"risk":"high","affected_resources":["db-1","db-2"],"rollback_plan":"fail back to the replica"'
api "$AP1" POST /api/v1/changes "{\"account\":\"$A\",\"title\":\"db major upgrade\",$HIGH}"
is "$STATUS" 201 "an approver may author a change"
H=$(jf .id)
for s in submitted in_review; do api "$OP" PATCH "/api/v1/changes/$H" "{\"status\":\"$s\"}"; done
is "$(jf .status)" in_review "high-risk change in review"
api "$AP1" POST "/api/v1/changes/$H/approvals" '{}'
is "$STATUS/$(jf .error.code)" 403/two_person_rule "the author cannot approve their own change"
api "$AP2" POST "/api/v1/changes/$H/approvals" '{}'
is "$STATUS/$(jf .status)/$(jf '.approvals|length')" 200/in_review/1 "one approval is not enough for high risk"
api "$AP2" POST "/api/v1/changes/$H/approvals" '{}'
is "$STATUS/$(jf .error.code)" 409/already_approved "the same approver cannot approve twice"
api "$AP2" PATCH "/api/v1/changes/$H" '{"status":"approved"}'
is "$STATUS/$(jf .error.code)" 409/approvals_required "nor force it with a status PATCH"
like "$(jf .error.message)" "needs 2 approvals" "… the message says two are needed"
api "$OP" PATCH "/api/v1/changes/$H" '{"status":"executing"}'
is "$STATUS" 409 "it cannot execute unapproved"
api "$ADM_A" POST "/api/v1/changes/$H/approvals" '{"comment":"second pair of eyes"}'
is "$STATUS/$(jf .status)/$(jf '.approvals|length')" 200/approved/2 "a second, different approver approves it"
is "$(jf '[.approvals[].principal] | unique | length')" 2 "the two approvals are from two principals"

# Lowering the risk while in review must not dodge the two-person rule.
api "$OP" POST /api/v1/changes "{\"account\":\"$A\",\"title\":\"sneaky\",$HIGH}"; H2=$(jf .id)
for s in submitted in_review; do api "$OP" PATCH "/api/v1/changes/$H2" "{\"status\":\"$s\"}"; done
api "$OP" PATCH "/api/v1/changes/$H2" '{"risk":"low"}'
is "$STATUS" 409 "the impact assessment is frozen while in review"
api "$OP" PATCH "/api/v1/changes/$H2" '{"affected_resources":["db-1"]}'
is "$STATUS" 409 "… affected resources too"
api "$AP1" POST "/api/v1/changes/$H2/approvals" '{}'
is "$(jf .status)" in_review "so one approval still leaves it in review"

api "$ADMIN" GET /api/v1/audit/verify; is "$(jf .ok)" true "audit chain intact"
n=$(fw_sql "SELECT COUNT(*) FROM audit WHERE action='change.approve' AND object='$H'")
is "$n" 2 "each approval is audited"
done_testing
