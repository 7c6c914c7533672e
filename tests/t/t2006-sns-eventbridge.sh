#!/usr/bin/env bash
# CloudWatch alarms over SNS (text/plain envelope, subscription confirmation, SignatureVersion 1 and 2
# verification against a configured certificate) and EventBridge envelopes (GuardDuty, AWS Health).
. "$(dirname "$0")/../lib.sh"
fw_start || exit 1
A=250000000006
mk_account $A
OPS=$(user ops $A operator)
cd "$TEST_DIR"
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=sns.us-east-1.amazonaws.com 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.pem -out othercert.pem -days 2 -subj /CN=evil 2>/dev/null
CERT=$(jq -Rs . <cert.pem)
api "$ADMIN" POST /api/v1/integrations "{\"type\":\"sns\",\"account\":\"$A\",\"certificate\":$CERT}"
is "$STATUS" 201 "SNS integration with a certificate"; KEY=$(jf .routing_key)
api "$ADMIN" POST /api/v1/integrations "{\"type\":\"sns\",\"account\":\"$A\"}"; NOSIG=$(jf .routing_key)

# snsmsg TYPE STATE VERSION KEYFILE -> a signed SNS envelope on stdout
snsmsg() {
  python3 - "$@" <<'PY'
import json, sys, subprocess, base64, uuid
typ, state, ver, keyfile = sys.argv[1:5]
alarm = {"AlarmName": "HighCPU-web", "AlarmDescription": None, "AWSAccountId": "123456789012",
  "NewStateValue": state, "NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints [93.2] was greater than the threshold (80.0)",
  "StateChangeTime": "2024-03-05T20:31:04.488+0000", "Region": "US East (N. Virginia)",
  "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HighCPU-web", "OldStateValue": "OK",
  "Trigger": {"MetricName": "CPUUtilization", "Namespace": "AWS/EC2", "StatisticType": "Statistic", "Statistic": "AVERAGE",
    "Unit": None, "Dimensions": [{"value": "i-0abc", "name": "InstanceId"}], "Period": 300, "EvaluationPeriods": 1,
    "ComparisonOperator": "GreaterThanThreshold", "Threshold": 80.0, "TreatMissingData": "missing", "EvaluateLowSampleCountPercentile": ""}}
m = {"Type": typ, "MessageId": str(uuid.uuid4()), "TopicArn": "arn:aws:sns:us-east-1:123456789012:alarms",
     "Timestamp": "2024-03-05T20:31:04.655Z", "SignatureVersion": ver,
     "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem"}
if typ == "Notification":
    m["Subject"] = '%s: "HighCPU-web" in US East (N. Virginia)' % state
    m["Message"] = json.dumps(alarm)
    m["UnsubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
    keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
else:
    m["Message"] = "You have chosen to subscribe to the topic"
    m["SubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=abc"
    m["Token"] = "abc"
    keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
sts = "".join("%s\n%s\n" % (k, m[k]) for k in keys)
sig = subprocess.run(["openssl", "dgst", "-sha1" if ver == "1" else "-sha256", "-sign", keyfile], input=sts.encode(), capture_output=True, check=True).stdout
m["Signature"] = base64.b64encode(sig).decode()
print(json.dumps(m))
PY
}
sns() {  # sns KEY TYPE BODY
  STATUS=$(curl -s -o "$TEST_DIR/body" -w '%{http_code}' -X POST -H 'Content-Type: text/plain; charset=UTF-8' \
    -H "x-amz-sns-message-type: $2" -H 'User-Agent: Amazon Simple Notification Service Agent' \
    --data-binary "$3" "http://sns:$1@127.0.0.1:$FW_PORT/sns"); BODY=$(cat "$TEST_DIR/body")
}
sns "$KEY" SubscriptionConfirmation "$(snsmsg SubscriptionConfirmation ALARM 1 key.pem)"
is "$STATUS" 200 "subscription confirmation accepted (SignatureVersion 1)"
api "$ADMIN" GET "/api/v1/audit?limit=50"; like "$BODY" 'sns.subscription' "confirmation recorded in the audit log"
sns "$KEY" Notification "$(snsmsg Notification ALARM 2 key.pem)"
is "$STATUS" 200 "CloudWatch ALARM accepted (SignatureVersion 2)"
INC=$(jf .incident); like "$INC" '^INC-' "ALARM opened an incident"
api "$OPS" GET "/api/v1/alarms?filter=alertname%3D%22HighCPU-web%22"
is "$(jf '.items[0].labels.region')" us-east-1 "region code from the alarm ARN"
is "$(jf '.items[0].annotations.dimensions')" "InstanceId=i-0abc" "dimensions kept"
is "$(jf '.items[0].source')" cloudwatch "source cloudwatch"
sns "$KEY" Notification "$(snsmsg Notification ALARM 2 other.pem)"
is "$STATUS" 403 "signature by another key refused"
sns "$KEY" Notification "$(snsmsg Notification OK 1 key.pem | jq -c '.Message |= sub("93.2";"12.0")')"
is "$STATUS" 403 "tampered message refused"
sns "$KEY" Notification "$(snsmsg Notification OK 1 key.pem | jq -c 'del(.Signature)')"
is "$STATUS" 403 "unsigned message refused when verification is on"
api "$OPS" GET "/api/v1/alarms?filter=alertname%3D%22HighCPU-web%22"; is "$(jf '.items[0].status')" firing "nothing recorded from refused messages"
sns "$KEY" Notification "$(snsmsg Notification OK 1 key.pem)"
is "$STATUS $(jf .status)" "200 resolved" "OK resolves the alarm"
api "$OPS" GET "/api/v1/incidents/$INC"; is "$(jf .status)" resolved "and its incident"
sns "$NOSIG" Notification "$(snsmsg Notification ALARM 2 other.pem | jq -c 'del(.Signature)')"
is "$STATUS" 200 "no certificate configured: unsigned accepted"
sns "$NOSIG" Notification 'not json'; is "$STATUS" 400 "malformed SNS body 400"
sns "$NOSIG" Notification "$(snsmsg Notification ALARM 2 key.pem | jq -c '.Message = "{\"AlarmName\":\"x\",\"NewStateValue\":\"BOGUS\"}"')"; is "$STATUS" 422 "unknown state 422"
sns "nope" Notification "$(snsmsg Notification ALARM 2 key.pem)"; is "$STATUS" 401 "unknown key 401"
# a token works too; the alarm's AWS account is used when it is a flywheel account the token may use
sns "$OPS" Notification "$(snsmsg Notification ALARM 2 key.pem)"; is "$STATUS $(jf .account)" "200 $A" "token auth, token's account"

# EventBridge
GD='{"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"'$A'","time":"2024-03-05T20:31:04Z","region":"us-east-1","resources":[],
 "detail":{"schemaVersion":"2.0","accountId":"'$A'","region":"us-east-1","partition":"aws","id":"16afba5c5c43e07c9e3e5e2e544e95df","arn":"arn:aws:guardduty:us-east-1:'$A':detector/x/finding/16af","type":"Recon:EC2/PortProbeUnprotectedPort",
 "resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-99999999"}},"service":{"serviceName":"guardduty","archived":false,"count":3},"severity":8.0,"createdAt":"2024-03-05T20:00:00.000Z","updatedAt":"2024-03-05T20:30:00.000Z","title":"Unprotected port on EC2 instance i-99999999 is being probed","description":"EC2 instance has an unprotected port which is being probed by a known malicious host."}}'
api "$OPS" POST /eventbridge "$GD"
is "$STATUS" 200 "GuardDuty finding accepted"; like "$(jf '.items[0].incident')" '^INC-' "finding opened an incident"
api "$OPS" GET "/api/v1/alarms?filter=finding_id%3D%2216afba5c5c43e07c9e3e5e2e544e95df%22"
is "$(jf '.items[0].labels.alertname')" "GuardDuty: Recon:EC2/PortProbeUnprotectedPort" "alertname from the finding type"
is "$(jf '.items[0].severity')" high "severity 8.0 is high"
is "$(jf '.items[0].labels.instance')" i-99999999 "instance label"
HE='{"version":"0","id":"a","detail-type":"AWS Health Event","source":"aws.health","account":"'$A'","time":"2025-02-12T00:40:00Z","region":"us-east-1","resources":["i-0123"],
 "detail":{"eventArn":"arn:aws:health:eu-west-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/AWS_EC2_OPERATIONAL_ISSUE_1","service":"EC2","eventTypeCode":"AWS_EC2_OPERATIONAL_ISSUE","eventTypeCategory":"issue","eventScopeCode":"PUBLIC",
 "startTime":"Wed, 12 Feb 2025 00:37:54 GMT","statusCode":"open","eventRegion":"eu-west-1","eventDescription":[{"language":"en_US","latestDescription":"We are investigating increased error rates."}],"affectedEntities":[{"entityValue":"i-0123"}]}}'
api "$OPS" POST /eventbridge "$HE"
is "$STATUS $(jf '.items[0].status')" "200 firing" "Health issue open: firing"
api "$OPS" GET "/api/v1/alarms?filter=service%3D%22EC2%22"
is "$(jf '.items[0].labels.region')" eu-west-1 "affected region from detail.eventRegion"
is "$(jf '.items[0].starts_at')" "2025-02-12T00:37:54.000Z" "RFC 1123 startTime"
is "$(jf '.items[0].severity')" high "issue is high"
api "$OPS" POST /eventbridge "$(jq -c '.detail.statusCode="closed" | .detail.endTime="Wed, 12 Feb 2025 03:00:00 GMT"' <<<"$HE")"
is "$(jf '.items[0].status')" resolved "Health event closed: resolved"
api "$OPS" POST /eventbridge '{"detail-type":"x"}'; is "$STATUS" 422 "envelope without source 422"
api "$OPS" POST /eventbridge '[1'; is "$STATUS" 400 "malformed JSON 400"
api "" POST /eventbridge "$GD"; is "$STATUS" 401 "no token 401"
# EventBridge through SNS
EBSNS=$(python3 -c 'import json,sys; print(json.dumps({"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:us-east-1:1:t","Timestamp":"2024-03-05T20:31:04.655Z","Message":sys.argv[1]}))' "$GD")
sns "$NOSIG" Notification "$EBSNS"; is "$STATUS $(jf .status)" "200 firing" "EventBridge event forwarded by SNS"
done_testing
