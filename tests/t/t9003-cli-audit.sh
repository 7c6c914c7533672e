#!/usr/bin/env bash
# flywheel audit list|verify: online through the daemon, offline on the store with the daemon
# stopped, and a row edited by hand with sqlite3 is caught (exit 1, names the entry).
. "$(dirname "$0")/../lib.sh"
command -v sqlite3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null 2>&1 ||
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null; }
fw_start || { fail "daemon starts"; done_testing; exit 1; }
cd "$TEST_DIR" || exit 1
export HOME="$TEST_DIR/home" XDG_CONFIG_HOME="$TEST_DIR/xdg" FLYWHEEL_URL="$FW_URL" FLYWHEEL_TOKEN="$ADMIN"
fw() { OUT=$("$FW_BIN" "$@" 2>"$TEST_DIR/cli.err"); RC=$?; ERR=$(cat "$TEST_DIR/cli.err"); }
ACC=200000000001
mk_account $ACC
for i in 1 2 3; do api "$ADMIN" POST /api/v1/incidents "{\"account\":\"$ACC\",\"title\":\"audit $i\"}"; done
api "$ADMIN" PATCH /api/v1/incidents/INC-1 '{"status":"acknowledged"}'

# ---- list ----
api "$ADMIN" GET '/api/v1/audit?limit=1000'; N=$(jf '.items | length')
fw audit list
is "$RC" 0 "audit list exits 0"
like "$(head -1 <<<"$OUT")" '^SEQ +AT +ACTOR +ACCOUNT +ACTION +OBJECT +HASH$' "audit list header"
like "$OUT" "ticket.transition +INC-1 +[0-9a-f]{12}" "audit list rows show action, object and a short hash"
fw audit list --action ticket.create --json
is "$(jq -r '[.items[].object] | join(",")' <<<"$OUT")" "INC-3,INC-2,INC-1" "audit list --action filters"
fw audit list --limit 2 --all --json
is "$(jq '.items | length' <<<"$OUT")" "$N" "audit list --all pages through every entry"
is "$(jq '[.items[].seq] | unique | length' <<<"$OUT")" "$N" "… each once"
VIEWER=$(user viewer1 $ACC viewer)
fw audit list --token "$VIEWER"
is "$RC" 1 "audit list without the auditor role exits 1"
like "$ERR" 'forbidden, HTTP 403' "… with the reason"
AUDITOR=$(user aud1 '*' auditor)
N=$((N + 4)) # the two users: principal.create, token.create each

# ---- online verify ----
fw audit verify --token "$AUDITOR"
is "$RC" 0 "audit verify (online) exits 0 when intact"
like "$OUT" "^audit chain intact: $N entries, head [0-9a-f]{64}$" "online verify reports the count and head"
HEAD=$(awk '{print $NF}' <<<"$OUT")
fw audit verify --json
is "$(jq -r .ok <<<"$OUT")/$(jq -r .entries <<<"$OUT")" "true/$N" "audit verify --json"
fw audit verify --token "$VIEWER"
is "$RC" 1 "audit verify needs the auditor role"

# ---- offline verify ----
fw_stop
fw audit verify --data-dir "$FW_DATA"
is "$RC" 0 "offline verify (daemon stopped) exits 0 when intact"
is "$OUT" "audit chain intact: $N entries, head $HEAD" "offline verify agrees with the daemon"
is "$ERR" "" "offline verify logs nothing"
fw audit verify --store "sqlite://$FW_DATA/flywheel.db"
is "$RC" 0 "offline verify with --store"
fw audit verify --data-dir "$TEST_DIR/nothing-here"
is "$RC" 3 "offline verify of a missing store exits 3"
like "$ERR" "no store at $TEST_DIR/nothing-here/flywheel.db" "… and names the file"
check "… without creating one" test ! -e "$TEST_DIR/nothing-here/flywheel.db"
fw audit verify --data-dir "$FW_DATA" --store "sqlite://$FW_DATA/flywheel.db"
is "$RC" 2 "--data-dir with --store is a usage error"

# ---- offline verify only reads: a copy one migration behind, read-only media, another user ----
# (Before, opening the store ran migrations: the copy was changed, and here the re-run migration
# failed; a read-only copy could not be opened at all.)
COPY="$TEST_DIR/copy"
mkdir -p "$COPY"
sqlite3 "$FW_DATA/flywheel.db" ".backup '$COPY/flywheel.db'"
sqlite3 "$COPY/flywheel.db" "PRAGMA journal_mode=DELETE; DELETE FROM schema_migrations WHERE version=(SELECT MAX(version) FROM schema_migrations)" >/dev/null
SUM=$(sha256sum <"$COPY/flywheel.db")
fw audit verify --data-dir "$COPY"
is "$RC" 0 "offline verify of a copy one migration behind exits 0"
is "$OUT" "audit chain intact: $N entries, head $HEAD" "… and reads the whole chain"
is "$(sha256sum <"$COPY/flywheel.db")" "$SUM" "… and leaves the file as it was (no migration ran)"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  RO=$(mktemp -d /tmp/fw-ro.XXXXXX)
  cp "$COPY/flywheel.db" "$FW_BIN" "$RO/"
  chmod 444 "$RO/flywheel.db"
  chmod 755 "$RO/flywheel"
  chmod 555 "$RO"
  OUT=$(cd / && env -i PATH=/usr/bin:/bin setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$RO/flywheel" audit verify --data-dir "$RO" 2>&1)
  RC=$?
  is "$RC" 0 "offline verify of a read-only copy, as a user who may not write it, exits 0"
  is "$OUT" "audit chain intact: $N entries, head $HEAD" "… and reads the whole chain"
  is "$(ls "$RO" | paste -sd,)" "flywheel,flywheel.db" "… and creates nothing beside it"
  chmod 755 "$RO"
  rm -rf "$RO"
else
  ok "# SKIP read-only copy as another user: needs root and the user nobody"
fi

ORIG=$(sqlite3 "$FW_DATA/flywheel.db" "SELECT action FROM audit WHERE seq=2")
sqlite3 "$FW_DATA/flywheel.db" "UPDATE audit SET action='x' WHERE seq=2"
fw audit verify --data-dir "$FW_DATA"
is "$RC" 1 "offline verify exits 1 after a row was edited"
like "$OUT" "BROKEN at entry 2 \(altered\)" "offline verify names entry 2"
fw audit verify --data-dir "$FW_DATA" --json
is "$(jq -r '.ok, .seq, .problem' <<<"$OUT" | paste -sd/)" "false/2/altered" "offline verify --json names the entry"

fw_start
fw audit verify
is "$RC" 1 "online verify also exits 1 on the edited chain"
like "$OUT" "entry 2" "online verify names entry 2"
sqlite3 "$FW_DATA/flywheel.db" "UPDATE audit SET action='$ORIG' WHERE seq=2"
fw audit verify
is "$RC" 0 "restoring the row makes the chain intact again (the check is not sticky)"
fw_stop
sqlite3 "$FW_DATA/flywheel.db" "DELETE FROM audit WHERE seq=(SELECT MAX(seq) FROM audit)"
fw audit verify --data-dir "$FW_DATA"
is "$RC" 1 "offline verify exits 1 when the last entry was removed"
like "$OUT" "removed" "… and says entries were removed"
fw audit verify --data-dir "$FW_DATA" --url "http://127.0.0.1:1"
is "$RC" 1 "offline verify needs no daemon (the URL is not used)"
done_testing
