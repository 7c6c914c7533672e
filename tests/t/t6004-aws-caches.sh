#!/usr/bin/env bash
# The caches behind signed AWS calls (access keys with their signing keys, principals and roles, member
# accounts, submitter labels) never outlive a change made on this daemon: a revoked key, a removed or added
# role, a new member account, a disabled principal take effect on the next call. A change written to the
# store behind the daemon's back (as another daemon sharing PostgreSQL would) takes effect within 5 s.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../aws.sh"

aws_setup us-east-1
# as KEY args…: `aws support` with KEY ("id secret"); sets OUT, ERR, RC.
as() { aws_run "$FW_URL" support "$@"; }
# sigcurl KEY TARGET [BODY] [REGION]: one signed call with curl, the signature computed with openssl as
# botocore computes it; sets STATUS and BODY. Quick enough to land several calls inside the caches' 5 s,
# which the CLI (a second per call) is not.
hmac() { printf '%s' "$2" | openssl dgst -sha256 -mac HMAC -macopt "$1" -r | cut -d' ' -f1; }
sigcurl() {
  local id=${1% *} secret=${1#* } target=AWSSupport_20130415.$2 body=${3:-{\}} region=${4:-us-east-1}
  local host=127.0.0.1:$FW_PORT amz day bh creq sts k
  amz=$(date -u +%Y%m%dT%H%M%SZ); day=${amz:0:8}
  bh=$(printf '%s' "$body" | openssl dgst -sha256 -r | cut -d' ' -f1)
  creq=$(printf 'POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:%s\nx-amz-date:%s\nx-amz-target:%s\n\n%s\n%s' \
    "$host" "$amz" "$target" "content-type;host;x-amz-date;x-amz-target" "$bh")
  sts=$(printf 'AWS4-HMAC-SHA256\n%s\n%s/%s/support/aws4_request\n%s' "$amz" "$day" "$region" \
    "$(printf '%s' "$creq" | openssl dgst -sha256 -r | cut -d' ' -f1)")
  k=$(hmac "key:AWS4$secret" "$day"); k=$(hmac "hexkey:$k" "$region"); k=$(hmac "hexkey:$k" support)
  k=$(hmac "hexkey:$k" aws4_request)
  STATUS=$(curl -s -o "$TEST_DIR/body" -w '%{http_code}' -X POST -H 'Content-Type: application/x-amz-json-1.1' \
    -H "X-Amz-Date: $amz" -H "X-Amz-Target: $target" --data-binary "$body" \
    -H "Authorization: AWS4-HMAC-SHA256 Credential=$id/$day/$region/support/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=$(hmac "hexkey:$k" "$sts")" \
    "http://$host/")
  BODY=$(cat "$TEST_DIR/body")
}
ncases() { as "$1" describe-cases --include-resolved-cases; if [ "$RC" = 0 ]; then jq '.cases | length' <<<"$OUT"; else echo "rc=$RC"; fi; }

fw_start || { fail "daemon starts"; done_testing; exit 1; }
ORG=100000000000; A=111111111111; B=222222222222
mk_account $ORG; mk_account $A $ORG; mk_account $B
mk_principal alice "[{\"account\":\"$A\",\"role\":\"requester\"}]"; ALICE_ID=$PRN; ALICE=$(mkkey "$PRN")
mk_principal bea "[{\"account\":\"$B\",\"role\":\"requester\"}]"; BEA_ID=$PRN; BEA=$(mkkey "$PRN" "{\"account\":\"$B\"}")
for acc in $A $B; do
  api "$ADMIN" POST /api/v1/incidents "{\"account\":\"$acc\",\"title\":\"case of $acc\"}"
done

# ---- a cached key is refused as soon as it is revoked ----
sigcurl "$ALICE" DescribeSeverityLevels
is "$STATUS" 200 "a signed call made with curl and openssl verifies"
as "$ALICE" describe-severity-levels
is "$RC" 0 "alice's key verifies through the CLI"
sigcurl "$ALICE" DescribeSeverityLevels; s1=$STATUS
api "$ADMIN" DELETE "/api/v1/principals/$ALICE_ID/access-keys/${ALICE% *}"; s2=$STATUS
sigcurl "$ALICE" DescribeSeverityLevels
is "$s1 $s2 $STATUS" "200 200 400" "a key used a moment ago (cached) is refused on the call right after its revocation"
is "$(jf .__type)" UnrecognizedClientException "revoked: UnrecognizedClientException"
as "$ALICE" describe-severity-levels
like "$ERR" '\(UnrecognizedClientException\)' "revoked: the CLI is refused too"
ALICE=$(mkkey "$ALICE_ID")
sigcurl "$ALICE" DescribeSeverityLevels
is "$STATUS" 200 "a new key of alice works at once"

# ---- the cache never stands in for the signature ----
as "${ALICE% *} wrong${ALICE:26}" describe-severity-levels
like "$ERR" '\(InvalidSignatureException\)' "a cached key with a wrong secret: InvalidSignatureException"
for region in eu-west-1 ap-south-1 eu-west-1; do
  as "$ALICE" --region $region describe-severity-levels
  is "$RC" 0 "signing keys of several scopes (region $region) verify one after another"
done

# ---- roles: removed and added, effective on the next call ----
is "$(ncases "$ALICE")" 1 "alice sees the one case of her account"
sigcurl "$ALICE" DescribeCases; n1=$(jf '.cases | length')
api "$ADMIN" DELETE "/api/v1/principals/$ALICE_ID/roles" "{\"roles\":[{\"account\":\"$A\",\"role\":\"requester\"}]}"; s2=$STATUS
sigcurl "$ALICE" DescribeCases
is "$n1 $s2 $STATUS $(jf '.cases | length')" "1 200 200 0" "a role removed a moment after a call: the next call sees no case"
sigcurl "$ALICE" CreateCase '{"subject":"s","communicationBody":"b"}'
is "$STATUS $(jf .__type)" "400 ValidationException" "without a role alice cannot open a case"
api "$ADMIN" POST "/api/v1/principals/$ALICE_ID/roles" "{\"roles\":[{\"account\":\"$ORG\",\"role\":\"requester\"}]}"
sigcurl "$ALICE" DescribeCases
is "$(jf '.cases | length')" 1 "a role added on the organization's management account shows its member's case at once"
is "$(ncases "$ALICE")" 1 "the CLI agrees"

# ---- member accounts: a new member's cases show at once for the organization's roles ----
mk_account 333333333333 $ORG
api "$ADMIN" POST /api/v1/incidents '{"account":"333333333333","title":"case of the new member"}'
sigcurl "$ALICE" DescribeCases
is "$(jf '.cases | length')" 2 "a member account added to the organization is covered on the next call"

# ---- submitter labels follow the store ----
as "$BEA" describe-cases
is "$(jq -r '.cases[0].submittedBy' <<<"$OUT")" admin "describe-cases names the submitter"

# ---- changes behind the daemon's back (another daemon) are seen within 5 s ----
sigcurl "$BEA" DescribeSeverityLevels; s1=$STATUS
fw_sql "UPDATE access_keys SET revoked_at = 1, secret_enc = '' WHERE id = '${BEA% *}'"
sigcurl "$BEA" DescribeSeverityLevels
is "$s1 $STATUS" "200 200" "a key revoked in the store by someone else still verifies from the cache for now"
sleep 5.2
sigcurl "$BEA" DescribeSeverityLevels
is "$STATUS $(jf .__type)" "400 UnrecognizedClientException" "a key revoked by another daemon is refused after at most 5 s"
BEA=$(mkkey "$BEA_ID")
sigcurl "$BEA" DescribeSeverityLevels
is "$STATUS" 200 "bea's new key works"
fw_sql "UPDATE principals SET disabled = 1 WHERE id = '$BEA_ID'"
sleep 5.2
sigcurl "$BEA" DescribeSeverityLevels
is "$STATUS $(jf .__type)" "400 UnrecognizedClientException" "a principal disabled in the store is refused after at most 5 s"

# ---- request ids stay unique ----
ids=$(for _ in 1 2 3; do
  curl -s -D - -o /dev/null -X POST -H 'X-Amz-Target: AWSSupport_20130415.DescribeCases' "$FW_URL/aws" | tr -d '\r' |
    awk -F': ' 'tolower($1) == "x-amzn-requestid" {print $2}'
done)
is "$(sort -u <<<"$ids" | grep -cE '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')" 3 "every answer has its own x-amzn-RequestId"
done_testing
