#!/usr/bin/env bash
# flywheel account|principal|token|whoami|status, and where the CLI finds its URL and token:
# flags over FLYWHEEL_URL/FLYWHEEL_TOKEN over the config file over ./var/admin.token.
. "$(dirname "$0")/../lib.sh"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
cd "$TEST_DIR" || exit 1
export HOME="$TEST_DIR/home" XDG_CONFIG_HOME="$TEST_DIR/xdg"
unset FLYWHEEL_URL FLYWHEEL_TOKEN
mkdir -p "$HOME" "$XDG_CONFIG_HOME"
fw() { OUT=$("$FW_BIN" "$@" 2>"$TEST_DIR/cli.err"); RC=$?; ERR=$(cat "$TEST_DIR/cli.err"); }
A=(--url "$FW_URL" --token "$ADMIN")
ORG=100000000001 MEM=100000000002

# ---- accounts ----
fw account create $ORG --name "Org" --tier enterprise "${A[@]}"
like "$OUT" "^account $ORG created$" "account create"
fw account create $MEM --name "Member" --parent $ORG --timezone Europe/Paris --json "${A[@]}"
is "$(jq -r .parent <<<"$OUT")/$(jq -r .timezone <<<"$OUT")" "$ORG/Europe/Paris" "account create --parent --timezone"
fw account create $MEM --name again "${A[@]}"
is "$RC" 1 "creating an existing account exits 1"
like "$ERR" 'already_exists, HTTP 409' "a conflict is reported with its code"
fw account create 12 --name short "${A[@]}"
like "$RC/$ERR" "^1/.*12-digit.*HTTP 422" "the server's validation message reaches the user"
fw account list "${A[@]}"
like "$(head -1 <<<"$OUT")" '^ID +NAME +PARENT +TIER +TIMEZONE +PLAN +CREATED$' "account list header"
like "$OUT" "$MEM +Member +$ORG +business +Europe/Paris" "account list row"
fw account list --parent $ORG --json "${A[@]}"
is "$(jq -r '[.items[].id] | join(",")' <<<"$OUT")" "$MEM" "account list --parent"
fw account show $ORG "${A[@]}"
like "$OUT" "members +$MEM" "account show lists members"
fw account update $MEM --plan advanced --name "Member Two" "${A[@]}"
api "$ADMIN" GET /api/v1/accounts/$MEM; is "$(jf .plan)|$(jf .name)" "advanced|Member Two" "account update"
fw account update $MEM "${A[@]}"; is "$RC" 2 "account update without fields is a usage error"
fw account show 999999999999 "${A[@]}"; is "$RC" 1 "account show of a missing account exits 1"

# ---- principals ----
fw principal create alice --email alice@example.com --role $MEM:operator "${A[@]}"
like "$OUT" '^principal prn-[0-9a-f]+ created \(alice\)$' "principal create"
ALICE=$(grep -o 'prn-[0-9a-f]*' <<<"$OUT")
fw principal create bob "$ORG:viewer" --json "${A[@]}"
is "$(jq -r '.roles[0].account + ":" + .roles[0].role' <<<"$OUT")" "$ORG:viewer" "roles as ACCOUNT:ROLE arguments"
fw principal create carol --role nonsense "${A[@]}"; is "$RC" 2 "a malformed role is a usage error"
fw principal list "${A[@]}"
like "$OUT" "$ALICE +alice +alice@example.com +no +$MEM:operator" "principal list shows roles"
fw principal show alice "${A[@]}"
like "$OUT" "id +$ALICE" "principal show by name"
fw principal grant alice $ORG:approver "${A[@]}"
api "$ADMIN" GET /api/v1/principals/$ALICE; is "$(jf '[.roles[].role] | sort | join(",")')" "approver,operator" "principal grant"
fw principal revoke "$ALICE" --role $ORG:approver "${A[@]}"
api "$ADMIN" GET /api/v1/principals/$ALICE; is "$(jf '[.roles[].role] | join(",")')" operator "principal revoke"
fw principal show nobody "${A[@]}"; is "$RC" 1 "an unknown principal name exits 1"

# ---- tokens ----
fw token create --principal alice --expires-in 1d --name laptop --json "${A[@]}"
TOK=$(jq -r .token <<<"$OUT"); TOKID=$(jq -r .id <<<"$OUT")
like "$TOK" '^fw_[0-9a-f]{40}$' "token create --json gives the token"
fw whoami --url "$FW_URL" --token "$TOK"
like "$OUT" "name +alice" "whoami with the new token"
like "$OUT" "$MEM +operator" "whoami lists roles"
fw token create --token "$TOK" --url "$FW_URL"
like "$OUT" "principal +$ALICE" "token create defaults to yourself"
like "$ERR" "shown once" "the token's one-time display is pointed out"
fw token list --principal alice "${A[@]}"
like "$OUT" "$TOKID +$ALICE +laptop" "token list"
fw token revoke "$TOKID" "${A[@]}"; like "$OUT" "revoked" "token revoke"
fw whoami --url "$FW_URL" --token "$TOK"
is "$RC" 3 "a revoked token exits 3"
like "$ERR" "unauthorized, HTTP 401" "a rejected token is reported"
VIEWER=$(user viewer1 $MEM viewer)
fw incident create --account $MEM --title x --url "$FW_URL" --token "$VIEWER"
is "$RC" 1 "a forbidden action exits 1, not 3"
like "$ERR" 'HTTP 403' "forbidden is reported with its status"

# ---- status ----
fw status --url "$FW_URL"
is "$RC" 0 "status exits 0 when healthy and ready"
like "$OUT" "ready +yes \(store sqlite" "status shows readiness and the store"
like "$OUT" "version +[0-9]+\.[0-9]+" "status shows the daemon's version"
fw status --url "$FW_URL" --json
is "$(jq -r .health.status <<<"$OUT")" ok "status --json"
DEAD="http://127.0.0.1:$(free_port)"
fw status --url "$DEAD"
is "$RC" 3 "status with no daemon exits 3"
fw incident list --url "$DEAD" --token x
is "$RC" 3 "no daemon: exit 3"
like "$ERR" "cannot reach the daemon at $DEAD" "no daemon: says where it tried"

# ---- where URL and token come from ----
fw whoami
is "$RC" 3 "no URL and no token: exit 3 (default URL unreachable, or no token)"
FLYWHEEL_URL="$FW_URL" fw whoami
is "$RC" 3 "no token anywhere: exit 3"
like "$ERR" "no token given" "no token: says how to give one"
mkdir -p "$XDG_CONFIG_HOME/flywheel"
printf '# flywheel CLI\nurl = %s\ntoken = "%s"\n' "$FW_URL" "$VIEWER" >"$XDG_CONFIG_HOME/flywheel/config"
chmod 644 "$XDG_CONFIG_HOME/flywheel/config"
fw whoami
like "$OUT" "name +viewer1" "config file in \$XDG_CONFIG_HOME gives URL and token"
like "$ERR" "warning: .* others may read it; run: chmod 600" "a token in a world-readable config file is warned about"
chmod 600 "$XDG_CONFIG_HOME/flywheel/config"
fw whoami
is "$ERR" "" "no warning once the file is private"
FLYWHEEL_TOKEN="$ADMIN" fw whoami
like "$OUT" "name +admin" "FLYWHEEL_TOKEN overrides the config file"
FLYWHEEL_TOKEN="$ADMIN" fw whoami --token "$VIEWER"
like "$OUT" "name +viewer1" "--token overrides FLYWHEEL_TOKEN"
FLYWHEEL_URL="$DEAD" fw whoami
is "$RC" 3 "FLYWHEEL_URL overrides the config file"
FLYWHEEL_URL="$DEAD" fw whoami --url "$FW_URL"
is "$RC" 0 "--url overrides FLYWHEEL_URL"
fw --verbose whoami
like "$ERR" "token from $XDG_CONFIG_HOME/flywheel/config" "--verbose names the token's source"
mkdir -p "$HOME/.config/flywheel"
printf 'url=%s\ntoken=%s\n' "$FW_URL" "$ADMIN" >"$HOME/.config/flywheel/config"
chmod 600 "$HOME/.config/flywheel/config"
fw whoami
like "$OUT" "name +viewer1" "\$XDG_CONFIG_HOME wins over ~/.config"
XDG_CONFIG_HOME= fw whoami
like "$OUT" "name +admin" "~/.config/flywheel/config when XDG_CONFIG_HOME is unset"
rm -rf "$XDG_CONFIG_HOME/flywheel" "$HOME/.config/flywheel"
mkdir -p run/var && cp "$FW_DATA/admin.token" run/var/admin.token
(cd run && FLYWHEEL_URL="$FW_URL" "$FW_BIN" whoami >"$TEST_DIR/o" 2>"$TEST_DIR/e"); RC=$?
is "$RC/$(grep -c 'name *admin' "$TEST_DIR/o")" 0/1 "./var/admin.token is used when no token is configured"
is "$(cat "$TEST_DIR/e")" "" "… silently"
(cd run && FLYWHEEL_URL="$FW_URL" "$FW_BIN" -v whoami 2>&1 >/dev/null) | grep -q 'token from ./var/admin.token'
check "… and --verbose says so" test $? -eq 0
done_testing
