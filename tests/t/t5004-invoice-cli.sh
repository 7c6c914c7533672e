#!/usr/bin/env bash
# flywheel invoice show: the statement as a table, JSON, CSV and HTML, and its exit codes.
. "$(dirname "$0")/../lib.sh"
if "$FW_BIN" invoice --help 2>&1 | grep -q "is not a command"; then
  ok "# SKIP 'flywheel invoice' is not wired into the CLI dispatcher yet (src/cli/cli_invoice.c)"
  done_testing; exit 0
fi
export FLYWHEEL_CATALOG_DIR="$FW_ROOT/etc/catalog.d"
fw_start || { fail "daemon starts"; done_testing; exit 1; }
A=400000000001
api "$ADMIN" POST /api/v1/accounts "{\"id\":\"$A\",\"name\":\"cli\",\"parent\":null,\"plan\":\"advanced\",\"timezone\":\"UTC\"}"
TODAY=$(date -u +%Y-%m-%d) MONTH=$(date -u +%Y-%m)
api "$ADMIN" POST /api/v1/engagements "{\"account\":\"$A\",\"start_date\":\"$TODAY\",\"offerings\":[{\"offering\":\"sap-cluster-assist\",\"blocks\":2}]}"
ENG=$(jf .id)
api "$ADMIN" POST "/api/v1/engagements/$ENG/review" '{"decision":"approve"}'
is "$STATUS" 200 "engagement approved"
api "$ADMIN" POST /api/v1/worklogs "{\"engagement\":\"$ENG\",\"offering\":\"sap-cluster-assist\",\"account\":\"$A\",\"start\":\"${TODAY}T00:00:00Z\",\"minutes\":90,\"description\":\"Failover test\"}"
is "$STATUS" 201 "work log"
export FLYWHEEL_URL=$FW_URL FLYWHEEL_TOKEN=$ADMIN
out=$("$FW_BIN" invoice show --account $A --month $MONTH); rc=$?
is "$rc" 0 "invoice show exits 0"
like "$out" "sap-cluster-assist +$A +$ENG +1\.50 +1/2 +4200\.00 +4200\.00 USD" "the table shows hours, billed/allocated blocks, rate and amount"
like "$out" "Total: 4200\.00 USD" "… and the total"
like "$out" "Failover test" "… and the work log behind it"
is "$("$FW_BIN" invoice show --account $A --month $MONTH --json | jq -r '.lines[0].billed_blocks')" 1 "--json prints the API's JSON"
is "$("$FW_BIN" invoice show --account $A --month $MONTH --format csv | sed -n 2p | cut -d, -f4,5,7,9)" "sap-cluster-assist,2,1,4200.00" "--format csv"
"$FW_BIN" invoice show --account $A --month $MONTH --format html | grep -q '<tr class="line">'
check "--format html prints the table rows" test $? -eq 0
"$FW_BIN" invoice show --account $A --month 2026-13 >/dev/null 2>&1
is "$?" 1 "a refused month exits 1"
"$FW_BIN" invoice show --month $MONTH >/dev/null 2>&1
is "$?" 2 "a missing --account exits 2"
done_testing
