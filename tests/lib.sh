# Shared helpers for the black-box shell tests (tests/t/t*.sh). Source it first:
#   . "$(dirname "$0")/../lib.sh"
# Each test starts its own daemon on a free loopback port with its own data dir, prints TAP lines
# ("ok N - …" / "not ok N - …"), and cleans up on exit. Requires curl and jq.
set -u
FW_ROOT=${FW_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
FW_BIN=${FW_BIN:-$FW_ROOT/build/flywheel}
TEST_NAME=$(basename "$0" .sh)
TEST_DIR=$(mktemp -d "/tmp/fw-$TEST_NAME.XXXXXX")
_n=0
_failed=0
FW_PID=
FW_PORT=

cleanup() {
  [ -n "$FW_PID" ] && kill -9 "$FW_PID" 2>/dev/null
  wait 2>/dev/null
  if [ "$_failed" -eq 0 ]; then rm -rf "$TEST_DIR"; else echo "# kept $TEST_DIR"; fi
}
trap cleanup EXIT

ok()   { _n=$((_n + 1)); echo "ok $_n - $*"; }
fail() { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $*"; }
# check DESCRIPTION COMMAND... : passes when the command succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
# is GOT EXPECTED DESCRIPTION
is() {
  if [ "$1" == "$2" ]; then ok "$3"; else fail "$3"; echo "#   got:      '$1'"; echo "#   expected: '$2'"; fi
}
# like GOT REGEX DESCRIPTION
like() {
  if [[ "$1" =~ $2 ]]; then ok "$3"; else fail "$3"; echo "#   got:     '$1'"; echo "#   pattern: '$2'"; fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# fw_start [extra serve flags…]: starts the daemon on a free port with data dir $TEST_DIR/data
# (kept across restarts), waits for /healthz, sets FW_URL, FW_PID and ADMIN (the admin token).
fw_start() {
  FW_PORT=${FW_PORT:-$(free_port)}
  FW_URL="http://127.0.0.1:$FW_PORT"
  FW_DATA=${FW_DATA:-$TEST_DIR/data}
  local store=()
  # FW_STORE_URL runs the same test against another store (tests/t/t8001-postgres.sh sets it).
  [ -n "${FW_STORE_URL:-}" ] && store=(--store "$FW_STORE_URL")
  "$FW_BIN" serve --listen "127.0.0.1:$FW_PORT" --data-dir "$FW_DATA" "${store[@]}" "$@" >>"$TEST_DIR/daemon.log" 2>&1 &
  FW_PID=$!
  for _ in $(seq 1 100); do
    curl -sf "$FW_URL/healthz" >/dev/null 2>&1 && break
    if ! kill -0 "$FW_PID" 2>/dev/null; then echo "# daemon exited:"; tail -5 "$TEST_DIR/daemon.log" | sed 's/^/#   /'; return 1; fi
    sleep 0.05
  done
  ADMIN=$(cat "$FW_DATA/admin.token")
  export FW_URL ADMIN
}
fw_stop() { [ -n "$FW_PID" ] && kill -TERM "$FW_PID" 2>/dev/null && wait "$FW_PID"; local rc=$?; FW_PID=; return $rc; }
fw_kill9() { [ -n "$FW_PID" ] && kill -9 "$FW_PID" 2>/dev/null; wait "$FW_PID" 2>/dev/null; FW_PID=; }

# api TOKEN METHOD PATH [BODY]: sets STATUS and BODY. TOKEN may be "" for no Authorization.
api() {
  local tok=$1 method=$2 path=$3 data=${4-} out
  local args=(-s -o "$TEST_DIR/body" -w '%{http_code}' -X "$method" -H 'Content-Type: application/json')
  [ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
  [ -n "$data" ] && args+=(--data-binary "$data")
  STATUS=$(curl "${args[@]}" "$FW_URL$path")
  BODY=$(cat "$TEST_DIR/body")
}
# jf FILTER: jq over the last BODY, raw output.
jf() { jq -r "$1" <<<"$BODY"; }

# mk_account ID [PARENT]; mk_principal NAME ROLES_JSON -> sets PRN; mk_token PRINCIPAL -> sets TOKEN
mk_account() {
  local parent=${2:-}
  local p=null; [ -n "$parent" ] && p="\"$parent\""
  api "$ADMIN" POST /api/v1/accounts "{\"id\":\"$1\",\"name\":\"acct $1\",\"parent\":$p,\"tier\":\"business\",\"timezone\":\"UTC\"}"
  [ "$STATUS" = 201 ] || { echo "# mk_account $1: $STATUS $BODY"; return 1; }
}
mk_principal() {
  api "$ADMIN" POST /api/v1/principals "{\"name\":\"$1\",\"email\":\"$1@example.com\",\"roles\":$2}"
  [ "$STATUS" = 201 ] || { echo "# mk_principal $1: $STATUS $BODY"; return 1; }
  PRN=$(jf .id)
}
mk_token() {
  api "$ADMIN" POST /api/v1/tokens "{\"principal\":\"$1\",\"expires_in\":\"30d\"}"
  [ "$STATUS" = 201 ] || { echo "# mk_token $1: $STATUS $BODY"; return 1; }
  TOKEN=$(jf .token)
}
# user NAME ACCOUNT ROLE -> prints a token for a new principal with that one role
user() { mk_principal "$1" "[{\"account\":\"$2\",\"role\":\"$3\"}]" >/dev/null && mk_token "$PRN" >/dev/null && echo "$TOKEN"; }

done_testing() { echo "1..$_n"; [ "$_failed" -eq 0 ]; }

# fw_sql "SQL": runs one query against the daemon's store (SQLite file or $FW_STORE_URL) and prints
# rows as '|'-separated text, like the sqlite3 shell. Installs the client when missing.
fw_sql() {
  if [ -n "${FW_STORE_URL:-}" ]; then
    command -v psql >/dev/null || apt-get install -y -qq postgresql-client >/dev/null 2>&1
    psql -X -q -t -A -F '|' "$FW_STORE_URL" -c "$1"
  else
    command -v sqlite3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null 2>&1
    # The daemon applies answered ticket creates a moment later (its redo log); a read through it
    # first waits for them, so this one sees them too.
    [ -n "$FW_PID" ] && curl -s -o /dev/null "$FW_URL/readyz"
    sqlite3 -cmd '.timeout 5000' "$FW_DATA/flywheel.db" "$1"
  fi
}
# fw_store_kind: "sqlite" or "postgres", what /readyz should report.
# fw_json_text COLUMN KEY: the SQL expression for a text field of a JSON column on this store.
fw_json_text() { if [ -n "${FW_STORE_URL:-}" ]; then echo "(($1)::json->>'$2')"; else echo "json_extract($1, '\$.$2')"; fi; }
fw_store_kind() { if [ -n "${FW_STORE_URL:-}" ]; then echo postgres; else echo sqlite; fi; }
