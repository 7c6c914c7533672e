#!/usr/bin/env bash
# A real Prometheus (Debian's prometheus 2.42) with an always-firing rule, configured with flywheel
# as its Alertmanager (bearer token in `authorization`), delivers its alert and an incident opens.
. "$(dirname "$0")/../lib.sh"
if ! command -v prometheus >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null 2>&1; }
fi
command -v prometheus >/dev/null || { fail "prometheus is not installed and could not be installed"; done_testing; exit 1; }
fw_start || exit 1
A=220000000003
mk_account $A
TOK=$(user prom $A operator)
PP=$(free_port)
mkdir -p "$TEST_DIR/prom"
cat >"$TEST_DIR/prom/rules.yml" <<YAML
groups:
  - name: t2003
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: critical, team: ops}
        annotations: {summary: "always firing"}
YAML
cat >"$TEST_DIR/prom/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s, external_labels: {replica: t2003}}
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["127.0.0.1:$FW_PORT"]}]
      api_version: v2
      timeout: 5s
      authorization: {credentials: "$TOK"}
YAML
prometheus --config.file="$TEST_DIR/prom/prometheus.yml" --storage.tsdb.path="$TEST_DIR/prom/data" \
  --web.listen-address="127.0.0.1:$PP" --rules.alert.resend-delay=1s >"$TEST_DIR/prom/log" 2>&1 &
PROM=$!
trap 'kill $PROM 2>/dev/null; cleanup' EXIT
INC=
for _ in $(seq 1 80); do
  api "$TOK" GET "/api/v1/alarms?filter=alertname%3D%22AlwaysFiring%22"
  INC=$(jf '.items[0].incident // empty' 2>/dev/null)
  [ -n "$INC" ] && break
  sleep 0.25
done
like "$INC" '^INC-[0-9]+$' "Prometheus' alert opened an incident"
is "$(jf '.items[0].labels.replica')" t2003 "external labels arrive"
is "$(jf '.items[0].source')" prometheus "source is prometheus"
is "$(jf '.items[0].annotations.summary')" "always firing" "annotations arrive"
api "$TOK" GET "/api/v1/incidents/$INC"
is "$(jf .source)" monitoring "incident source monitoring"
is "$(jf .priority)" P1 "critical alert is P1"
is "$(jf .account)" $A "incident in the token's account"
# Prometheus keeps resending; the alarm is deduplicated, not duplicated.
sleep 2.5
api "$TOK" GET "/api/v1/alarms"
is "$(jf '.items|length')" 1 "one alarm despite resends"
check "resends counted" test "$(jf '.items[0].count')" -ge 2
api "$TOK" GET "/api/v1/incidents?limit=50"
is "$(jf '[.items[]|select(.source=="monitoring")]|length')" 1 "one incident despite resends"
grep -q 'Error sending alert' "$TEST_DIR/prom/log" && { fail "prometheus logged send errors"; grep 'Error sending' "$TEST_DIR/prom/log" | tail -2 | sed 's/^/# /'; } || ok "prometheus logged no send errors"
kill $PROM; wait $PROM 2>/dev/null
done_testing
