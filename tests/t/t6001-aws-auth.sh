#!/usr/bin/env bash
# AWS access keys (/api/v1/principals/{id}/access-keys) and SigV4 on the /aws endpoint, driven by Debian's
# aws CLI: every mount point, wrong secret, unknown key, unsigned, skewed clock, revoked key.
. "$(dirname "$0")/../lib.sh"

AWS=/usr/bin/aws
if [ ! -x $AWS ] || ! command -v faketime >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli faketime >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli faketime >/dev/null; }
fi
# Nothing from the machine's ~/.aws or environment leaks in.
unset AWS_REGION AWS_PROFILE AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
export AWS_CONFIG_FILE=$TEST_DIR/aws-config AWS_SHARED_CREDENTIALS_FILE=$TEST_DIR/aws-credentials
export AWS_DEFAULT_REGION=eu-west-1 AWS_PAGER= AWS_EC2_METADATA_DISABLED=true
: >"$AWS_CONFIG_FILE"; : >"$AWS_SHARED_CREDENTIALS_FILE"

# awsx AKID SECRET [--endpoint-url URL] args…: runs the CLI; sets OUT, ERR, RC.
awsx() {
  local id=$1 secret=$2; shift 2
  OUT=$(AWS_ACCESS_KEY_ID=$id AWS_SECRET_ACCESS_KEY=$secret $AWS "$@" 2>"$TEST_DIR/aws.err"); RC=$?
  ERR=$(cat "$TEST_DIR/aws.err")
}
count_tickets() { api "$ADMIN" GET "/api/v1/incidents?limit=500"; jf '.items | length'; }

fw_start || { fail "daemon starts"; done_testing; exit 1; }
check "Debian aws CLI 2.x is installed" bash -c "$AWS --version | grep -q '^aws-cli/2'"
mk_account 111111111111; mk_account 222222222222
mk_principal alice '[{"account":"111111111111","role":"requester"}]'; ALICE=$PRN
mk_principal bob '[{"account":"222222222222","role":"admin"}]'; BOB=$PRN
mk_token "$ALICE"; ALICE_TOKEN=$TOKEN
mk_token "$BOB"; BOB_TOKEN=$TOKEN

# ---- access keys API ----
api "$ADMIN" POST "/api/v1/principals/$ALICE/access-keys" '{"name":"laptop"}'
is "$STATUS" 201 "an admin creates an access key for a principal"
AKID=$(jf .access_key_id); SECRET=$(jf .secret_access_key)
like "$AKID" '^AKFW[0-9A-F]{16}$' "the access key id looks like an AWS one"
like "$SECRET" '^[A-Za-z0-9+/]{40}$' "the secret is 40 characters of AWS's alphabet"
is "$(stat -c %a "$FW_DATA/keys.secret")" 600 "keys.secret is created with mode 0600"
is "$(stat -c %s "$FW_DATA/keys.secret")" 32 "keys.secret holds a 256-bit key"
if grep -qaF "$SECRET" "$FW_DATA"/flywheel.db* 2>/dev/null; then fail "the secret is not stored in clear"; else ok "the secret is not stored in clear"; fi
api "$ADMIN" GET "/api/v1/principals/$ALICE/access-keys"
is "$(jf '.items[0].access_key_id')" "$AKID" "listing shows the key"
is "$(jf '.items[0] | has("secret_access_key")')" false "listing never shows the secret"
is "$(jf '.items[0].status')" active "a new key is active"
api "$BOB_TOKEN" POST "/api/v1/principals/$ALICE/access-keys" '{}'
is "$STATUS" 404 "an admin of another account cannot make keys for alice"
api "$ALICE_TOKEN" POST "/api/v1/principals/$ALICE/access-keys" '{"account":"222222222222"}'
is "$STATUS" 422 "a key cannot be pinned to an account the principal has no role on"
api "$ALICE_TOKEN" POST "/api/v1/principals/$ALICE/access-keys" '{"account":"111111111111"}'
is "$STATUS" 201 "a principal creates a key for itself, pinned to its account"
AKID2=$(jf .access_key_id); SECRET2=$(jf .secret_access_key)
api "$ADMIN" GET "/api/v1/audit?action=access_key.create"
is "$(jf '.items | length')" 2 "each key creation is audited"

# ---- mount points and regions ----
awsx "$AKID" "$SECRET" --endpoint-url "$FW_URL" support describe-severity-levels
is "$RC" 0 "signed call to / succeeds"
is "$(jq -r '[.severityLevels[].code] | join(",")' <<<"$OUT")" "low,normal,high,urgent,critical" "describe-severity-levels lists the five codes"
awsx "$AKID" "$SECRET" --endpoint-url "$FW_URL/aws" support describe-severity-levels
is "$RC" 0 "signed call to /aws succeeds"
awsx "$AKID" "$SECRET" --endpoint-url "$FW_URL/aws/support" support describe-services
is "$RC" 0 "signed call to /aws/support succeeds"
OUT=$(AWS_REGION=ap-south-1 AWS_ACCESS_KEY_ID=$AKID2 AWS_SECRET_ACCESS_KEY=$SECRET2 $AWS --endpoint-url "$FW_URL/aws" ssm describe-ops-items 2>&1); RC=$?
is "$RC" 0 "another region and service in the scope are accepted"

# ---- failures: AWS shapes, exit 254, no effect, no retries ----
before=$(count_tickets)
awsx "$AKID" "wrong${SECRET:5}" --endpoint-url "$FW_URL" support create-case --subject s --communication-body b
is "$RC" 254 "wrong secret: the CLI exits 254"
like "$ERR" 'An error occurred \(InvalidSignatureException\) when calling the CreateCase operation: The request signature we calculated does not match' "wrong secret: InvalidSignatureException"
is "$(count_tickets)" "$before" "a badly signed request has no effect"
metrics=$(curl -s "$FW_URL/metrics")
like "$metrics" 'flywheel_http_requests_total\{route="/",method="POST",status="400"\} 1' "a deterministic error is answered once (400, not retried)"

awsx AKFW0000000000000000 "$SECRET" --endpoint-url "$FW_URL" support describe-cases
is "$RC" 254 "unknown key: exit 254"
like "$ERR" '\(UnrecognizedClientException\).*security token included in the request is invalid' "unknown key: UnrecognizedClientException"

OUT=$($AWS --no-sign-request --endpoint-url "$FW_URL" support create-case --subject s --communication-body b 2>&1); RC=$?
is "$RC" 254 "unsigned (--no-sign-request): exit 254"
like "$OUT" '\(MissingAuthenticationTokenException\)' "unsigned: MissingAuthenticationTokenException"
is "$(count_tickets)" "$before" "an unsigned request has no effect"

OUT=$(AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET faketime -f '-20m' $AWS --endpoint-url "$FW_URL" support create-case --subject s --communication-body b 2>&1); RC=$?
is "$RC" 254 "clock 20 minutes behind: exit 254"
like "$OUT" '\(InvalidSignatureException\).*Signature expired: [0-9T]+Z is now earlier than' "clock behind: Signature expired"
OUT=$(AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET faketime -f '+20m' $AWS --endpoint-url "$FW_URL" support describe-cases 2>&1); RC=$?
like "$OUT" '\(InvalidSignatureException\).*Signature not yet current' "clock 20 minutes ahead: Signature not yet current"
is "$(count_tickets)" "$before" "an expired request has no effect"
OUT=$(AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET faketime -f '-10m' $AWS --endpoint-url "$FW_URL" support describe-severity-levels 2>&1); RC=$?
is "$RC" 0 "a clock 10 minutes off is inside the 15-minute window"

awsx "$AKID" "$SECRET" --endpoint-url "$FW_URL" support describe-trusted-advisor-checks --language en
is "$RC" 254 "an operation flywheel does not serve: exit 254"
like "$ERR" '\(UnknownOperationException\)' "unknown operation: UnknownOperationException"

# Raw requests: a JSON 1.1 error body and content type.
code=$(curl -s -o "$TEST_DIR/raw" -w '%{http_code} %{content_type}' -X POST -H 'X-Amz-Target: AWSSupport_20130415.DescribeCases' -H 'Content-Type: application/x-amz-json-1.1' --data '{}' "$FW_URL/aws")
is "$code" "403 application/x-amz-json-1.1" "unsigned raw request: 403 with the AWS JSON content type"
is "$(jq -r '.__type' "$TEST_DIR/raw")" MissingAuthenticationTokenException "raw error body has __type"
like "$(jq -r '.message' "$TEST_DIR/raw")" "^Missing Authentication Token" "raw error body has message"

# ---- revocation ----
api "$ADMIN" DELETE "/api/v1/principals/$ALICE/access-keys/$AKID"
is "$STATUS" 200 "an admin revokes the key"
awsx "$AKID" "$SECRET" --endpoint-url "$FW_URL" support describe-severity-levels
like "$ERR" '\(UnrecognizedClientException\)' "a revoked key is refused"
api "$ADMIN" GET "/api/v1/principals/$ALICE/access-keys"
is "$(jf "[.items[] | select(.access_key_id == \"$AKID\")][0].status")" revoked "listing shows the key revoked"
api "$ADMIN" DELETE "/api/v1/principals/$ALICE/access-keys/$AKID"
is "$STATUS" 404 "revoking twice: 404"
awsx "$AKID2" "$SECRET2" --endpoint-url "$FW_URL" support describe-severity-levels
is "$RC" 0 "the other key still works"

# Keys survive a restart (keys.secret is read back).
fw_stop; fw_start
awsx "$AKID2" "$SECRET2" --endpoint-url "$FW_URL" support describe-severity-levels
is "$RC" 0 "a key verifies after a restart"
done_testing
