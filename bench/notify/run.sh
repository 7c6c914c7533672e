#!/usr/bin/env bash
# bench/notify: (1) notifications delivered per second to a local webhook receiver through a topic
# with 1,000 subscriptions; (2) SLA timer load with 100,000 open tickets with clocks: heap rebuild
# time, daemon RSS, and CPU seconds used per minute while timers fire.
# usage: bench/notify/run.sh [BUILD_DIR]   (default build); EVENTS=5 TICKETS=100000 to change sizes.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-build}/flywheel
EVENTS=${EVENTS:-5}
TICKETS=${TICKETS:-100000}
W=$(mktemp -d /tmp/fw-bench-notify.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
start() { # env… : starts the daemon on $P with data dir $W/data
  "$BIN" serve --listen "127.0.0.1:$P" --data-dir "$W/data" >>"$W/daemon.log" 2>&1 &
  FW=$!; PIDS+=("$FW")
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$P/healthz" >/dev/null && break; sleep 0.05; done
  TOK=$(cat "$W/data/admin.token")
}
call() { curl -sf -X "$1" -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' "http://127.0.0.1:$P$2" ${3:+--data-binary "$3"}; }

# ---- 1. fan-out throughput
python3 tests/data/notify/webhook_receiver.py "$W/r.port" "$W/r.log" benchsecret 0 & PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$W/r.port" ] && break; sleep 0.1; done
HOOK="http://127.0.0.1:$(cat "$W/r.port")"
P=$(port); start
call POST /api/v1/accounts '{"id":"100000000001","name":"bench","tier":"business","timezone":"UTC"}' >/dev/null
CH=$(call POST /api/v1/channels "{\"name\":\"bench\",\"type\":\"webhook\",\"url\":\"$HOOK/\",\"secret\":\"benchsecret\"}" | jq -r .id)
TOP=$(call POST /api/v1/topics '{"name":"bench"}' | jq -r .id)
for i in $(seq 1 1000); do
  printf '{"channel":"%s","endpoint":"%s/s%d","filter":{"events":["bench.*"]}}\n' "$CH" "$HOOK" "$i"
done | xargs -P 8 -d '\n' -I{} curl -sf -o /dev/null -X POST -H "Authorization: Bearer $TOK" \
  -H 'Content-Type: application/json' "http://127.0.0.1:$P/api/v1/topics/$TOP/subscriptions" --data-binary '{}'
SUBS=$(call GET "/api/v1/topics/$TOP" | jq '.subscriptions | length')
WANT=$((SUBS * EVENTS))
t0=$(date +%s.%N)
for e in $(seq 1 "$EVENTS"); do call POST "/api/v1/topics/$TOP/publish" "{\"event\":\"bench.e$e\"}" >/dev/null; done
while [ "$(wc -l <"$W/r.log")" -lt "$WANT" ]; do sleep 0.05; done
t1=$(date +%s.%N)
BAD=$(jq -s '[.[] | select(.sig_ok | not)] | length' "$W/r.log")
python3 -c "d=$t1-$t0; print(f'notify: {$WANT} webhook deliveries ({$EVENTS} publishes x {$SUBS} subscriptions) in {d:.2f} s = {$WANT/d:.0f} deliveries/s; bad signatures: $BAD')"
kill "$FW"; wait "$FW" 2>/dev/null || true

# ---- 2. SLA timer load
rm -rf "$W/data"; P=$(port); start
call POST /api/v1/accounts '{"id":"100000000001","name":"bench","tier":"business","timezone":"UTC"}' >/dev/null
call POST /api/v1/sla-policies '{"name":"bench","targets":{"P1":{"response":"30m","resolution":"4h"}},"warnings":[0.5,0.75,0.9]}' >/dev/null
kill "$FW"; wait "$FW" 2>/dev/null || true
NOW=$(($(date +%s) * 1000))
# Tickets opened over the last 4 hours; their clocks' next events spread over the coming hour.
sqlite3 "$W/data/flywheel.db" <<SQL
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $TICKETS)
INSERT INTO tickets (seq, id, kind, account, status, priority, severity, assignee, group_name, title, created_at, updated_at, data)
SELECT 1000000 + i, 'INC-' || i, 'incident', '100000000001', 'new', 'P1', 'critical', NULL, NULL, 'bench ' || i,
       $NOW - (i % 14400) * 1000, $NOW,
       json_object('id', 'INC-' || i, 'kind', 'incident', 'account', '100000000001', 'status', 'new',
                   'priority', 'P1', 'severity', 'critical', 'title', 'bench ' || i,
                   'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', ($NOW - (i % 14400) * 1000) / 1000.0, 'unixepoch'))
FROM n;
INSERT INTO sla_clocks (ticket, type, kind, policy, account, severity, priority, group_name, target, start_at, stop_at, pauses, warned, breached, due_at, next_at)
SELECT id, 'sla', 'resolution', 'slp-1', account, 'critical', 'P1', NULL, 14400, created_at, NULL, '[]', 0, 0, NULL,
       $NOW + (seq % 3600) * 1000 FROM tickets WHERE id LIKE 'INC-%';
UPDATE counters SET value = $TICKETS WHERE name = 'INC';
COMMIT;
SQL
t0=$(date +%s.%N); start; t1=$(date +%s.%N)
ARMED=$(grep -o 'armed [0-9]* timers' "$W/daemon.log" | tail -1)
RSS=$(awk '/VmRSS/ {print $2}' /proc/$FW/status)
c0=$(awk '{print $14 + $15}' /proc/$FW/stat); tk=$(getconf CLK_TCK)
sleep 60
c1=$(awk '{print $14 + $15}' /proc/$FW/stat)
RSS2=$(awk '/VmRSS/ {print $2}' /proc/$FW/status)
FIRED=$(sqlite3 "$W/data/flywheel.db" "SELECT COUNT(*) FROM sla_clocks WHERE warned > 0 OR breached = 1")
python3 -c "print(f'sla: $TICKETS open tickets: start-up incl. heap rebuild {$t1-$t0:.2f} s ($ARMED); RSS {$RSS/1024:.0f} MiB after start, {$RSS2/1024:.0f} MiB after 1 min; CPU {($c1-$c0)/$tk:.2f} s per minute while {$FIRED} clocks fired warnings/breaches')"
