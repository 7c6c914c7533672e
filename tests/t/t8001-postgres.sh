#!/usr/bin/env bash
# The same black-box tests against PostgreSQL: starts a private server, gives each test script a
# fresh database through FW_STORE_URL, and passes their TAP lines through (tests/pg.sh).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../pg.sh"
pg_start || { fail "PostgreSQL server starts"; done_testing; exit 1; }
ok "PostgreSQL server starts on port $PG_PORT"

# Direct check: the daemon runs its migrations and serves on PostgreSQL.
export FW_STORE_URL; FW_STORE_URL=$(pg_newdb direct); fw_start || fail "daemon starts on PostgreSQL"
api "" GET /readyz; is "$(jf .store)" postgres "/readyz names the PostgreSQL store"
mk_account 111111111111
api "$ADMIN" POST /api/v1/incidents '{"account":"111111111111","title":"on pg","impact":"high","urgency":"high"}'
is "$STATUS" 201 "incident created on PostgreSQL"; is "$(jf .priority)" P1 "priority on PostgreSQL"
api "$ADMIN" GET /api/v1/audit/verify; is "$(jf .ok)" true "audit chain verifies on PostgreSQL"
fw_kill9; fw_start; api "$ADMIN" GET /api/v1/incidents/INC-1; is "$STATUS" 200 "incident survives kill -9 on PostgreSQL"
fw_stop
# Offline verify reads PostgreSQL in read-only sessions and runs no migrations (one is made missing).
"$PG_BIN/psql" -q "$FW_STORE_URL" -c "DELETE FROM schema_migrations WHERE version=(SELECT MAX(version) FROM schema_migrations)"
MIG=$("$PG_BIN/psql" -tAq "$FW_STORE_URL" -c "SELECT COUNT(*) FROM schema_migrations")
OUT=$("$FW_BIN" audit verify --store "$FW_STORE_URL" 2>&1); RC=$?
is "$RC" 0 "offline verify on PostgreSQL exits 0"; like "$OUT" "^audit chain intact: [0-9]+ entries" "… and walks the chain"
is "$("$PG_BIN/psql" -tAq "$FW_STORE_URL" -c "SELECT COUNT(*) FROM schema_migrations")" "$MIG" "… and applies no migration"
unset FW_STORE_URL

# The basics suites (t0…), unchanged, against PostgreSQL; t8002-t8004 run the other families.
pg_run_suites '^t0[0-9]{3}-.*\.sh$'
done_testing
