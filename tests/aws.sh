# Shared by the t6… suites: Debian's aws CLI with nothing from the machine's ~/.aws or environment.
# Source after lib.sh. aws_setup REGION [extra packages…] installs what is missing and isolates the CLI.
aws_setup() {
  local region=$1; shift
  AWS=/usr/bin/aws
  local need=()
  [ -x $AWS ] || need+=(awscli)
  for p in "$@"; do command -v "$p" >/dev/null || need+=("$p"); done
  if [ ${#need[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; }
  fi
  unset AWS_REGION AWS_PROFILE AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  export AWS_CONFIG_FILE=$TEST_DIR/aws-config AWS_SHARED_CREDENTIALS_FILE=$TEST_DIR/aws-credentials
  export AWS_DEFAULT_REGION=$region AWS_PAGER= AWS_EC2_METADATA_DISABLED=true
  : >"$AWS_CONFIG_FILE"; : >"$AWS_SHARED_CREDENTIALS_FILE"
}

# mkkey PRINCIPAL [BODY]: creates an access key and prints "id secret".
mkkey() { api "$ADMIN" POST "/api/v1/principals/$1/access-keys" "${2:-{\}}"; echo "$(jf .access_key_id) $(jf .secret_access_key)"; }

# aws_run ENDPOINT SERVICE KEY args…: runs the CLI with KEY ("id secret"); sets OUT, ERR, RC.
aws_run() {
  local url=$1 svc=$2 k=$3; shift 3
  OUT=$(AWS_ACCESS_KEY_ID=${k% *} AWS_SECRET_ACCESS_KEY=${k#* } $AWS --endpoint-url "$url" "$svc" "$@" 2>"$TEST_DIR/aws.err"); RC=$?
  ERR=$(cat "$TEST_DIR/aws.err")
}
j() { jq -r "$1" <<<"$OUT"; }
