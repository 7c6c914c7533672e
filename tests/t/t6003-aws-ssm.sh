#!/usr/bin/env bash
# `aws ssm` OpsItems against flywheel: create/get/update/describe, OperationalData kept exactly, Version,
# incident vs problem, Status through the ticket's state machine, filters, pagination, accounts and roles.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../aws.sh"

aws_setup eu-central-1
# as KEY args…: `aws ssm` with KEY ("id secret"); sets OUT, ERR, RC.
as() { aws_run "$FW_URL" ssm "$@"; }

fw_start || { fail "daemon starts"; done_testing; exit 1; }
A=111111111111; B=222222222222
mk_account $A; mk_account $B
mk_principal opal "[{\"account\":\"$A\",\"role\":\"operator\"}]"; OPAL=$(mkkey "$PRN"); mk_token "$PRN"; OPAL_TOKEN=$TOKEN
mk_principal rita "[{\"account\":\"$A\",\"role\":\"requester\"}]"; RITA=$(mkkey "$PRN")
mk_principal bob "[{\"account\":\"$B\",\"role\":\"operator\"}]"; BOB=$(mkkey "$PRN")

# OperationalData with quoting, unicode and a JSON-in-a-string value must come back byte for byte.
OD='{"/aws/resources":{"Value":"[{\"arn\":\"arn:aws:cloudwatch:eu-central-1:111111111111:alarm:cpu-high\"}]","Type":"SearchableString"},"runbook":{"Value":"https://wiki/x?a=1&b=\"2\"","Type":"String"},"owner":{"Value":"équipe données ✓","Type":"SearchableString"}}'
as "$OPAL" create-ops-item --title "CPU high on db-1" --description "CPU over 90% for 15 minutes" --source flywheel \
  --priority 2 --severity 1 --category Performance --operational-data "$OD" --notifications Arn=arn:aws:sns:eu-central-1:111111111111:ops \
  --tags Key=team,Value=db
is "$RC" 0 "create-ops-item succeeds"
INC_OI=$(j .OpsItemId)
like "$INC_OI" '^oi-[0-9a-f]{12}$' "OpsItemId has the AWS form"
is "$(j .OpsItemArn)" "arn:aws:ssm:eu-central-1:$A:opsitem/$INC_OI" "OpsItemArn names region, account and id"

as "$OPAL" get-ops-item --ops-item-id "$INC_OI"
is "$RC" 0 "get-ops-item succeeds"
is "$(jq -cS '.OpsItem.OperationalData' <<<"$OUT")" "$(jq -cS . <<<"$OD")" "OperationalData is returned exactly"
is "$(j .OpsItem.Version)" 1 "a new OpsItem is Version 1"
is "$(j .OpsItem.Status)" Open "a new OpsItem is Open"
is "$(j .OpsItem.Title)|$(j .OpsItem.Description)|$(j .OpsItem.Source)" "CPU high on db-1|CPU over 90% for 15 minutes|flywheel" "title, description and source round-trip"
is "$(j .OpsItem.Priority)|$(j .OpsItem.Severity)|$(j .OpsItem.Category)" "2|1|Performance" "priority, severity and category round-trip"
is "$(j '.OpsItem.Notifications[0].Arn')" "arn:aws:sns:eu-central-1:111111111111:ops" "notifications round-trip"
like "$(j .OpsItem.CreatedTime)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+\+00:00$' "CreatedTime is an epoch timestamp the CLI renders"
is "$(j .OpsItem.CreatedBy)" "arn:aws:iam::$A:user/opal@example.com" "CreatedBy names the key's principal"
api "$OPAL_TOKEN" GET "/api/v1/incidents?account=$A"
is "$(jf '.items | length')" 1 "an OpsItem with related resources is an incident"
INC=$(jf '.items[0].id')
is "$(jf '.items[0].ops_item') $(jf '.items[0].priority') $(jf '.items[0].severity')" "$INC_OI P2 critical" "the incident carries the OpsItem's priority and severity"

as "$OPAL" create-ops-item --title "Disk fills every Monday" --description "recurring" --source backup-check \
  --operational-data '{"host":{"Value":"db-2","Type":"SearchableString"}}'
PRB_OI=$(j .OpsItemId)
api "$OPAL_TOKEN" GET "/api/v1/problems?account=$A"
is "$(jf '.items | length') $(jf '.items[0].ops_item')" "1 $PRB_OI" "an OpsItem without related resources is a problem"
PRB=$(jf '.items[0].id')

# ---- update-ops-item: Version, merge/delete of OperationalData, Status ----
as "$OPAL" update-ops-item --ops-item-id "$INC_OI" --title "CPU high on db-1 (primary)" \
  --operational-data '{"ticket":{"Value":"CHG-9","Type":"String"}}' --operational-data-to-delete runbook
is "$RC:$OUT" "0:" "update-ops-item prints nothing"
as "$OPAL" get-ops-item --ops-item-id "$INC_OI"
is "$(j .OpsItem.Version)" 2 "Version increments on an edit"
is "$(j .OpsItem.Title)" "CPU high on db-1 (primary)" "title updated"
is "$(j '.OpsItem.OperationalData | keys | join(",")')" "/aws/resources,owner,ticket" "OperationalData merged and deleted by key"
is "$(j '.OpsItem.OperationalData.owner.Value')" "équipe données ✓" "untouched OperationalData stays exact"
as "$OPAL" update-ops-item --ops-item-id "$INC_OI" --status InProgress
as "$OPAL" get-ops-item --ops-item-id "$INC_OI"
is "$(j .OpsItem.Status) $(j .OpsItem.Version)" "InProgress 3" "Status InProgress; Version 3"
api "$OPAL_TOKEN" GET "/api/v1/incidents/$INC"
is "$(jf .status)" investigating "the incident is investigating"
as "$OPAL" update-ops-item --ops-item-id "$INC_OI" --status Resolved
api "$OPAL_TOKEN" GET "/api/v1/incidents/$INC"
is "$(jf .status)" resolved "Status Resolved resolves the incident"
api "$OPAL_TOKEN" PATCH "/api/v1/incidents/$INC" '{"status":"investigating"}'
as "$OPAL" get-ops-item --ops-item-id "$INC_OI"
is "$(j .OpsItem.Status)" InProgress "Status follows the ticket when it changes through /api/v1"
as "$OPAL" update-ops-item --ops-item-id "$INC_OI" --status Cancelling
is "$RC" 254 "an unsupported Status: exit 254"
like "$ERR" '\(OpsItemInvalidParameterException\).*Open, InProgress or Resolved' "the error lists the statuses that work"
as "$OPAL" update-ops-item --ops-item-id "$PRB_OI" --status InProgress
as "$OPAL" get-ops-item --ops-item-id "$PRB_OI"
is "$(j .OpsItem.Status)" InProgress "a problem can be InProgress"
api "$OPAL_TOKEN" GET "/api/v1/problems/$PRB"
is "$(jf .status)" open "while the problem stays open"

# ---- errors ----
as "$OPAL" get-ops-item --ops-item-id oi-000000000000
is "$RC" 254 "unknown OpsItem: exit 254"
like "$ERR" 'An error occurred \(OpsItemNotFoundException\) when calling the GetOpsItem operation' "OpsItemNotFoundException"
as "$OPAL" update-ops-item --ops-item-id oi-000000000000 --title x
like "$ERR" '\(OpsItemNotFoundException\)' "update of an unknown OpsItem: OpsItemNotFoundException"
as "$OPAL" create-ops-item --title t --description d --source my-aws-tool
like "$ERR" '\(OpsItemInvalidParameterException\).*Source' "a Source naming aws is refused"
as "$OPAL" create-ops-item --title t --description d --source s --operational-data '{"ssm:thing":{"Value":"v","Type":"String"}}'
like "$ERR" '\(OpsItemInvalidParameterException\).*reserved' "a reserved OperationalData key is refused"
DEDUP='{"/aws/dedup":{"Value":"{\"dedupString\":\"disk-db-3\"}","Type":"SearchableString"}}'
as "$OPAL" create-ops-item --title "disk db-3" --description d --source s --operational-data "$DEDUP"
FIRST=$(j .OpsItemId)
as "$OPAL" create-ops-item --title "disk db-3 again" --description d --source s --operational-data "$DEDUP"
like "$ERR" '\(OpsItemAlreadyExistsException\)' "the same open /aws/dedup string: OpsItemAlreadyExistsException"

# ---- accounts and roles ----
as "$BOB" get-ops-item --ops-item-id "$INC_OI"
like "$ERR" '\(OpsItemNotFoundException\)' "account B's key cannot see A's OpsItem"
as "$BOB" describe-ops-items
is "$(j '.OpsItemSummaries | length')" 0 "account B's describe lists nothing of A"
as "$BOB" update-ops-item --ops-item-id "$INC_OI" --title hijack
like "$ERR" '\(OpsItemNotFoundException\)' "account B cannot update A's OpsItem"
as "$RITA" get-ops-item --ops-item-id "$INC_OI"
is "$RC" 0 "a requester of A reads A's OpsItem"
as "$RITA" update-ops-item --ops-item-id "$INC_OI" --title changed
like "$ERR" '\(OpsItemAccessDeniedException\)' "a requester cannot update it"
as "$BOB" create-ops-item --title t --description d --source s --account-id $A
like "$ERR" '\(OpsItemAccessDeniedException\)' "AccountId of an account the key has no role on is refused"

# ---- describe-ops-items: filters ----
as "$OPAL" describe-ops-items --ops-item-filters Key=Status,Values=InProgress,Operator=Equal
is "$(j '[.OpsItemSummaries[].OpsItemId] | sort | join(",")')" "$(printf '%s\n' "$INC_OI" "$PRB_OI" | sort | paste -sd,)" "Status filter"
as "$OPAL" describe-ops-items --ops-item-filters Key=Priority,Values=2,Operator=Equal
is "$(j '[.OpsItemSummaries[].OpsItemId] | join(",")')" "$INC_OI" "Priority filter"
as "$OPAL" describe-ops-items --ops-item-filters Key=Source,Values=BACKUP,Operator=Contains
is "$(j '[.OpsItemSummaries[].OpsItemId] | join(",")')" "$PRB_OI" "Source Contains filter"
as "$OPAL" describe-ops-items --ops-item-filters Key=Title,Values=Monday,Operator=Contains
is "$(j '[.OpsItemSummaries[].OpsItemId] | join(",")')" "$PRB_OI" "Title Contains filter"
as "$OPAL" describe-ops-items --ops-item-filters Key=OpsItemId,Values=$FIRST,Operator=Equal
is "$(j '[.OpsItemSummaries[].OpsItemId] | join(",")')" "$FIRST" "OpsItemId filter"
as "$OPAL" describe-ops-items --ops-item-filters '[{"Key":"OperationalData","Values":["{\"key\":\"host\",\"value\":\"db-2\"}"],"Operator":"Equal"}]'
is "$(j '[.OpsItemSummaries[].OpsItemId] | join(",")')" "$PRB_OI" "OperationalData key/value filter"
as "$OPAL" describe-ops-items --ops-item-filters Key=OperationalDataKey,Values=ticket,Operator=Equal
is "$(j '[.OpsItemSummaries[].OpsItemId] | join(",")')" "$INC_OI" "OperationalDataKey filter"
as "$OPAL" describe-ops-items --ops-item-filters Key=OperationalDataValue,Values=données,Operator=Contains
is "$(j '[.OpsItemSummaries[].OpsItemId] | join(",")')" "$INC_OI" "OperationalDataValue filter"
as "$OPAL" describe-ops-items --ops-item-filters Key=ResourceId,Values=alarm:cpu-high,Operator=Contains
is "$(j '[.OpsItemSummaries[].OpsItemId] | join(",")')" "$INC_OI" "ResourceId filter"
as "$OPAL" describe-ops-items --ops-item-filters Key=CreatedTime,Values=2999-01-01T00:00:00Z,Operator=GreaterThan
is "$(j '.OpsItemSummaries | length')" 0 "CreatedTime GreaterThan filter"
as "$OPAL" describe-ops-items --ops-item-filters Key=CreatedTime,Values=2999-01-01T00:00:00Z,Operator=LessThan Key=Status,Values=Open,Operator=Equal
is "$(j '[.OpsItemSummaries[].OpsItemId] | join(",")')" "$FIRST" "filters combine (AND)"
as "$OPAL" describe-ops-items --ops-item-filters Key=Status,Values=Open,InProgress,Operator=Equal
is "$(j '.OpsItemSummaries | length')" 3 "values of one filter combine (OR)"
is "$(j '.OpsItemSummaries[0] | has("Description") or has("Version")')" false "summaries carry neither Description nor Version"

# ---- pagination: 60 more items, created with the CLI's own botocore ----
AWS_ACCESS_KEY_ID=${OPAL% *} AWS_SECRET_ACCESS_KEY=${OPAL#* } python3 - "$FW_URL" <<'PY' || fail "bulk create with botocore"
import sys
sys.path.insert(0, "/usr/lib/python3/dist-packages")
from awscli.botocore.session import Session
c = Session().create_client("ssm", endpoint_url=sys.argv[1], region_name="eu-central-1")
for i in range(60):
    c.create_ops_item(Title="bulk %d" % i, Description="d", Source="bulk", Priority=4)
PY
as "$OPAL" describe-ops-items --page-size 7
is "$RC" 0 "describe-ops-items over 10 pages succeeds"
is "$(j '.OpsItemSummaries | length')" 63 "the CLI follows NextToken through every page"
is "$(j '[.OpsItemSummaries[].OpsItemId] | unique | length')" 63 "no OpsItem appears twice"
as "$OPAL" describe-ops-items --max-results 7
is "$(j '.OpsItemSummaries | length')" 7 "an explicit MaxResults is one page"
check "with a NextToken" test "$(j .NextToken)" != null
as "$OPAL" describe-ops-items --ops-item-filters Key=Source,Values=bulk,Operator=Equal --page-size 5
is "$(j '.OpsItemSummaries | length')" 60 "filtered pagination returns every match"

api "$ADMIN" GET "/api/v1/audit?object=$INC_OI"
is "$(jf '[.items[].action] | sort | unique | join(",")')" "opsitem.create,opsitem.update" "OpsItem changes are audited"
done_testing
