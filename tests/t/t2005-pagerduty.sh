#!/usr/bin/env bash
# PagerDuty Events API v2: routing keys from /api/v1/integrations, trigger / acknowledge / resolve
# with dedup keys, 202 and 400 shapes, change events on the account's timeline.
. "$(dirname "$0")/../lib.sh"
fw_start || exit 1
A=240000000005
mk_account $A
OPS=$(user ops $A operator)
api "$OPS" POST /api/v1/integrations "{\"type\":\"pagerduty\",\"account\":\"$A\",\"service\":\"checkout\"}"
is "$STATUS" 403 "operators cannot create integrations"
api "$ADMIN" POST /api/v1/integrations "{\"type\":\"pagerduty\",\"account\":\"$A\",\"service\":\"checkout\"}"
is "$STATUS" 201 "integration created"
RK=$(jf .routing_key); like "$RK" '^[0-9a-f]{32}$' "routing key is 32 characters"
api "$ADMIN" GET /api/v1/integrations; is "$(jf '.items[0].routing_key')" null "routing key is shown once"
pd() { api "" POST "$1" "$2"; }

pd /v2/enqueue "{\"routing_key\":\"$RK\",\"event_action\":\"trigger\",\"dedup_key\":\"srv-42\",\"payload\":{\"summary\":\"CPU on srv-42 is 99%\",\"source\":\"srv-42\",\"severity\":\"critical\",\"component\":\"cpu\",\"custom_details\":{\"load\":12.5}}}"
is "$STATUS" 202 "trigger: 202"
is "$(jf -c . | jq -c .)" '{"status":"success","message":"Event processed","dedup_key":"srv-42"}' "success body"
api "$OPS" GET "/api/v1/alarms?filter=dedup_key%3D%22srv-42%22"
INC=$(jf '.items[0].incident'); like "$INC" '^INC-' "trigger opened an incident"
is "$(jf '.items[0].labels.service')" checkout "service from the routing key"
is "$(jf '.items[0].annotations.component')" cpu "payload fields kept"
api "$OPS" GET "/api/v1/incidents/$INC"; is "$(jf .title)" "CPU on srv-42 is 99%" "incident titled by the summary"; is "$(jf .priority)" P1 "critical is P1"
pd /v2/enqueue "{\"routing_key\":\"$RK\",\"event_action\":\"trigger\",\"dedup_key\":\"srv-42\",\"payload\":{\"summary\":\"CPU on srv-42 is 98%\",\"source\":\"srv-42\",\"severity\":\"critical\"}}"
api "$OPS" GET "/api/v1/alarms?filter=dedup_key%3D%22srv-42%22"; is "$(jf '.items[0].count')" 2 "same dedup key updates the alert"
pd /v2/enqueue "{\"routing_key\":\"$RK\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"no key\",\"source\":\"x\",\"severity\":\"info\"}}"
is "$STATUS" 202 "trigger without dedup_key"; like "$(jf .dedup_key)" '^[0-9a-f]{32}$' "dedup key generated"
pd /v2/enqueue "{\"routing_key\":\"$RK\",\"event_action\":\"acknowledge\",\"dedup_key\":\"srv-42\"}"
is "$STATUS" 202 "acknowledge: 202"
api "$OPS" GET "/api/v1/incidents/$INC"; is "$(jf .status)" acknowledged "acknowledge acknowledges the incident"
pd /v2/enqueue "{\"routing_key\":\"$RK\",\"event_action\":\"resolve\",\"dedup_key\":\"srv-42\"}"
is "$STATUS" 202 "resolve: 202"
api "$OPS" GET "/api/v1/incidents/$INC"; is "$(jf .status)" resolved "resolve resolves the incident"
pd /v2/enqueue "{\"routing_key\":\"$RK\",\"event_action\":\"resolve\",\"dedup_key\":\"never-seen\"}"
is "$STATUS" 202 "resolve of an unknown key is accepted"
api "$OPS" GET "/api/v1/alarms?status=all&filter=dedup_key%3D%22never-seen%22"; is "$(jf '.items|length')" 0 "and dropped"
pd /v2/enqueue "{\"routing_key\":\"$RK\",\"event_action\":\"trigger\",\"dedup_key\":\"srv-42\",\"payload\":{\"summary\":\"again\",\"source\":\"srv-42\",\"severity\":\"warning\"}}"
api "$OPS" GET "/api/v1/alarms?filter=dedup_key%3D%22srv-42%22"; is "$(jf '.items[0].status')" firing "trigger after resolve: a new episode"

# Errors: 400 with PagerDuty's shape
pd /v2/enqueue "{\"routing_key\":\"$RK\",\"event_action\":\"explode\",\"dedup_key\":\"k\"}"
is "$STATUS" 400 "unknown event_action: 400"
is "$(jf '.status + "|" + .message')" "invalid event|Event object is invalid" "400 shape"
like "$(jf '.errors[0]')" "event_action" "errors name the field"
pd /v2/enqueue '{"event_action":"trigger"'; is "$STATUS $(jf '.errors[0]')" "400 JSON parse error" "malformed JSON"
pd /v2/enqueue '{"routing_key":"nope","event_action":"trigger","payload":{"summary":"s","source":"s","severity":"info"}}'; is "$STATUS" 400 "unknown routing key"
pd /v2/enqueue "{\"routing_key\":\"$RK\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\",\"source\":\"s\",\"severity\":\"bad\"}}"; is "$STATUS" 400 "bad severity"
pd /v2/enqueue "{\"routing_key\":\"$RK\",\"event_action\":\"trigger\",\"payload\":{\"source\":\"s\",\"severity\":\"info\"}}"; is "$STATUS" 400 "summary required"
long=$(head -c 1100 /dev/zero | tr '\0' a)
pd /v2/enqueue "{\"routing_key\":\"$RK\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"$long\",\"source\":\"s\",\"severity\":\"info\"}}"; is "$STATUS" 400 "summary over 1024"

# Change events
pd /v2/change/enqueue "{\"routing_key\":\"$RK\",\"payload\":{\"summary\":\"deployed v1.2.3\",\"source\":\"ci\",\"custom_details\":{\"sha\":\"abc\"}},\"links\":[{\"href\":\"https://ci/1\"}]}"
is "$STATUS" 202 "change event: 202"
is "$(jf .status)" success "change event success"
pd /v2/change/enqueue "{\"routing_key\":\"$RK\",\"payload\":{}}"; is "$STATUS" 400 "change event needs a summary"
api "$OPS" GET "/api/v1/events/changes"
is "$(jf '.items[0].summary')" "deployed v1.2.3" "change recorded on the account's timeline"
is "$(jf '.items[0].payload.links[0].href')" "https://ci/1" "links kept"
is "$(jf '.items[0].payload.routing_key')" null "routing key not stored in the record"
done_testing
