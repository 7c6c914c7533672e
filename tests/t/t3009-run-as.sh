#!/usr/bin/env bash
# automation.run_as: when the daemon runs as root, runbook steps run as the configured
# unprivileged user (here "nobody"), and cannot write where that user may not.
. "$(dirname "$0")/../lib.sh"
if [ "$(id -u)" -ne 0 ]; then ok "# SKIP run_as needs the daemon to run as root"; done_testing; exit 0; fi
cat > "$TEST_DIR/flywheel.yaml" <<YAML
automation:
  run_as: nobody
YAML
fw_start --config "$TEST_DIR/flywheel.yaml" || { fail "daemon starts"; done_testing; exit 1; }
W=$TEST_DIR/root-only; mkdir -p "$W"; chmod 700 "$W"
api "$ADMIN" POST /api/v1/runbooks "$(jq -n --arg y "$(cat <<YAML
name: whoami
steps:
  - name: ids
    type: exec
    command: [id, -u]
  - name: write
    type: exec
    command: [touch, $W/written]
YAML
)" '{yaml:$y}')"
is "$STATUS" 201 "runbook saved"
api "$ADMIN" POST /api/v1/runbooks/whoami/executions '{}'; EX=$(jf .id)
for _ in $(seq 200); do
  api "$ADMIN" GET "/api/v1/executions/$EX"
  case $(jf .status) in succeeded|failed|rolled_back|cancelled) break;; esac
  sleep 0.05
done
is "$(jf '.steps[0].stdout' | tr -d '\n')" "$(id -u nobody)" "the step ran as the unprivileged user, not root"
is "$(jf '.steps[1].status')" failed "the step could not write into a root-only directory"
check "nothing was written there" test ! -e "$W/written"
is "$(id -u)" 0 "while the daemon itself runs as root"
done_testing
