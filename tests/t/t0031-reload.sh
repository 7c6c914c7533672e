#!/usr/bin/env bash
# SIGHUP reloads flywheel.yaml: log.requests true -> false takes effect, the body limit changes;
# a broken or invalid file keeps the running configuration; the daemon keeps serving.
. "$(dirname "$0")/../lib.sh"
CFG=$TEST_DIR/flywheel.yaml
printf 'log:\n  requests: true\nlimits:\n  body_max: 64k\n' >"$CFG"
fw_start --config "$CFG" || { fail "daemon starts"; done_testing; exit 1; }
logged() { grep -c "\"path\":\"/api/v1/version\",\"status\":200" "$TEST_DIR/daemon.log"; }
hup() { kill -HUP "$FW_PID"; sleep 0.3; }
body() { printf '{"account":"111111111111","title":"x","description":"%s"}' "$(head -c "$1" /dev/zero | tr '\0' d)"; }
mk_account 111111111111
api "" GET /api/v1/version; sleep 0.1
is "$(logged)" 1 "log.requests true: the request is logged as one JSON line"
line=$(grep '"path":"/api/v1/version"' "$TEST_DIR/daemon.log" | head -1)
is "$(jq -r '.msg + " " + .method + " " + (.status|tostring)' <<<"$line")" "request GET 200" "the line is JSON with msg, method and status"

printf 'log:\n  requests: false\nlimits:\n  body_max: 2k\n' >"$CFG"
hup
api "" GET /api/v1/version; api "" GET /api/v1/version; sleep 0.1
is "$(logged)" 1 "after SIGHUP with requests: false, requests are no longer logged"
grep -q '"msg":"reloaded configuration' "$TEST_DIR/daemon.log"; is "$?" 0 "the reload is logged"
api "$ADMIN" POST /api/v1/incidents "$(body 3000)"; is "$STATUS" 413 "the smaller body limit applies after the reload"
api "$ADMIN" POST /api/v1/incidents "$(body 1000)"; is "$STATUS" 201 "… and smaller bodies still pass"

printf 'log:\n  requests: true\n' >"$CFG"; hup
api "" GET /api/v1/version; sleep 0.1
is "$(logged)" 2 "requests: true again: logged again"

printf 'log:\n  requests: false\n  bogus: [\n' >"$CFG"; hup
api "" GET /api/v1/version; sleep 0.1
is "$(logged)" 3 "a file with a YAML error is refused: the old setting (true) stays"
grep -q 'keeping the running configuration' "$TEST_DIR/daemon.log"; is "$?" 0 "… and the error is logged"
printf 'log:\n  requests: false\n  level: chatty\n' >"$CFG"; hup
api "" GET /api/v1/version; sleep 0.1
is "$(logged)" 4 "a file with an invalid value is refused as a whole (requests: false not applied)"
printf 'log:\n  requests: false\nlimits:\n  colour: blue\n' >"$CFG"; hup
api "" GET /api/v1/version; sleep 0.1
is "$(logged)" 5 "a file with an unknown key is refused as a whole"
rm -f "$CFG"; hup
api "" GET /api/v1/version; sleep 0.1
is "$(logged)" 6 "a missing file keeps the running configuration"
api "$ADMIN" POST /api/v1/incidents "$(body 3000)"; is "$STATUS" 413 "the body limit from the last good file (2k) still applies"
api "" GET /healthz; is "$STATUS" 200 "the daemon keeps serving through bad reloads"
for i in 1 2 3; do kill -HUP "$FW_PID"; done; sleep 0.3
kill -0 "$FW_PID"; is "$?" 0 "a burst of SIGHUPs does not stop it"
fw_stop; is "$?" 0 "SIGTERM still exits 0"
done_testing
