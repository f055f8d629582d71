#!/usr/bin/env bash
# Failover with nothing lost: a pg_auto_failover formation on loopback (a monitor, a primary
# and a synchronous standby), oauth-front on the formation's multi-host connection string
# (target_session_attrs=read-write), continuous load (flows and refresh chains, retried as a
# client would), and the primary killed outright (its keeper, supervisor and Postgres) in the
# middle. Afterwards, on the new primary:
#   - every refresh token answered 200 is known (synchronous replication lost no commit);
#   - no code was redeemed twice, no family is half-rotated (each live family has exactly one
#     open refresh token), and no family was revoked by a client's retry;
#   - every client recovered: the family each worker held at the end refreshes;
# and it prints the longest time without a successful answer and the errors the clients saw.
#   scripts/failover-test.sh [front binary] [seconds of load] [seconds before the kill]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
# pg_autoctl is Debian's postgresql-15-auto-failover: this test runs on 15 only.
[ "$PG_MAJOR" = 15 ] || { echo "failover-test.sh runs on PostgreSQL 15 only (pg_auto_failover is Debian's package for 15); PG_MAJOR=$PG_MAJOR" >&2; exit 2; }
FRONT_BIN=${1:-$(front_bin debug)}
LOAD_SECONDS=${2:-20}
KILL_AFTER=${3:-8}
WORKERS=${FAILOVER_WORKERS:-4}
WORK=${OAUTH_FAILOVER_DIR:-$TEST_ROOT/failover}
MPORT=${OAUTH_FAILOVER_PORT:-$PLAN_FAILOVER_PG}
P1=$((MPORT + 1)) P2=$((MPORT + 2))
FPORT=${OAUTH_FAILOVER_FRONT_PORT:-$PLAN_FAILOVER_FRONT}
FRONT_URL="http://127.0.0.1:$FPORT"
REDIRECT=http://127.0.0.1:9/callback
log() { printf '\033[1m[failover]\033[0m %s\n' "$*"; }

command -v pg_autoctl >/dev/null || { echo "pg_autoctl missing (apt package postgresql-15-auto-failover)"; exit 1; }
# pg_autoctl as user postgres, each node in its own session (setsid) so that killing a node
# kills its keeper, its supervisor and its Postgres together, as losing the machine would.
as_node_user() {
  as_pg env PATH="$PGBIN:$PATH" PG_CONFIG="$PG_CONFIG" \
    XDG_CONFIG_HOME="$WORK/xdg/config" XDG_DATA_HOME="$WORK/xdg/data" XDG_RUNTIME_DIR="$WORK/xdg/run" \
    "$@"
}
autoctl() { as_node_user pg_autoctl "$@"; }
start_node() { # name
  as_node_user setsid pg_autoctl run --pgdata "$WORK/$1" >"$WORK/$1.log" 2>&1 &
}
node_pid() { pgrep -f "^pg_autoctl run --pgdata $WORK/$1\$" | head -1 || true; }
kill_node() { # name: every process of its session (never ours: runuser stays in it)
  local pid sid
  pid=$(node_pid "$1")
  [ -n "$pid" ] || return 0
  sid=$(ps -o sid= -p "$pid" | tr -d ' ')
  [ -n "$sid" ] && [ "$sid" != "$(ps -o sid= -p $$ | tr -d ' ')" ] && pkill -9 -s "$sid"
  return 0
}
# A node still up at the end stops as a machine shutting down would: pg_autoctl stop, whose
# supervisor stops Postgres, which stops its background workers. Killing it instead (kill_node,
# as the test does to the primary) leaves the monitor's pg_auto_failover workers (the health
# check, and the logger they hold open) running with parent 1: they do not notice that their
# postmaster died. kill_node only if it does not stop within 30 s.
stop_node() { # name
  [ -n "$(node_pid "$1")" ] || return 0
  autoctl stop --pgdata "$WORK/$1" >>"$WORK/$1.log" 2>&1 || true
  for _ in $(seq 300); do [ -n "$(node_pid "$1")" ] || return 0; sleep 0.1; done
  kill_node "$1"
}
state_of() { # port: primary, standby or down
  psql -X -q -t -A -h 127.0.0.1 -p "$1" -U postgres -c \
    "SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' WHEN current_setting('default_transaction_read_only') = 'on' THEN 'promoting' ELSE 'primary' END" 2>/dev/null || echo down
}
wait_for() { # port state seconds
  for _ in $(seq $(($3 * 10))); do [ "$(state_of "$1")" = "$2" ] && return 0; sleep 0.1; done
  echo "port $1 never became $2"; return 1
}
# Ours only: test.sh exports FRONT_PID for its own stack's front.
FRONT_PID=""
cleanup() {
  if [ -n "${FRONT_PID:-}" ]; then kill "$FRONT_PID" 2>/dev/null && wait "$FRONT_PID" 2>/dev/null || true; fi
  for n in node2 node1 monitor; do stop_node "$n"; done
  # And whatever a killed node left under $WORK (by directory only: the caller's mark would
  # name the caller's processes too).
  OAUTH_RUN_MARK="" kill_leftovers "$WORK"
  return 0
}
cleanup 2>/dev/null || true
trap cleanup EXIT
rm -rf "$WORK" && mkdir -p "$WORK" && chown postgres "$WORK"

log "monitor, primary and standby (pg_auto_failover)"
autoctl create monitor --pgdata "$WORK/monitor" --pgport "$MPORT" --hostname 127.0.0.1 \
  --auth trust --no-ssl >"$WORK/monitor.create.log" 2>&1
start_node monitor
wait_for "$MPORT" primary 30
# Failure detection in about two seconds instead of the defaults' twenty.
psql -X -q -h 127.0.0.1 -p "$MPORT" -U postgres -d pg_auto_failover -v ON_ERROR_STOP=1 <<SQL
ALTER SYSTEM SET pgautofailover.health_check_period = 1000;
ALTER SYSTEM SET pgautofailover.health_check_timeout = 1000;
ALTER SYSTEM SET pgautofailover.health_check_max_retries = 1;
ALTER SYSTEM SET pgautofailover.health_check_retry_delay = 500;
ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = 2000;
ALTER SYSTEM SET pgautofailover.primary_demote_timeout = 3000;
SELECT pg_reload_conf();
SQL
MONITOR="postgres://autoctl_node@127.0.0.1:$MPORT/pg_auto_failover?sslmode=prefer"
for n in node1:$P1 node2:$P2; do
  autoctl create postgres --pgdata "$WORK/${n%%:*}" --pgport "${n##*:}" --hostname 127.0.0.1 \
    --auth trust --no-ssl --monitor "$MONITOR" --name "${n%%:*}" >"$WORK/${n%%:*}.create.log" 2>&1
  start_node "${n%%:*}"
  if [ "${n%%:*}" = node1 ]; then wait_for "$P1" primary 60; else wait_for "$P2" standby 60; fi
done
for _ in $(seq 100); do
  [ "$(psql -X -q -t -A -h 127.0.0.1 -p "$P1" -U postgres -c "SELECT sync_state FROM pg_stat_replication" 2>/dev/null)" = quorum ] && break
  sleep 0.2
done
REPLICATION=$(psql -X -q -t -A -h 127.0.0.1 -p "$P1" -U postgres -c "SELECT current_setting('synchronous_standby_names') || ', ' || sync_state FROM pg_stat_replication")
log "replication: $REPLICATION"
# Without a synchronous standby a killed primary may take commits with it: no test then.
case "$REPLICATION" in *quorum|*sync) ;; *) log "FAILED: the standby is not synchronous"; exit 1 ;; esac

URL="postgres://postgres@127.0.0.1:$P1,127.0.0.1:$P2/app?target_session_attrs=read-write&sslmode=disable"
psql -X -q -h 127.0.0.1 -p "$P1" -U postgres -c "CREATE DATABASE app"
psql -X -q -t -A "$URL" -v ON_ERROR_STOP=1 >"$WORK/client.json" <<SQL
CREATE EXTENSION oauth_server;
ALTER DATABASE app SET oauth_server.issuer = '$FRONT_URL';
-- A retry after a lost answer may come once the new primary answers: well within 30 s.
ALTER DATABASE app SET oauth_server.refresh_retry_grace = 30;
SELECT oauth.create_client('Failover client', ARRAY['$REDIRECT']);
SQL
"$FRONT_BIN" --listen "127.0.0.1:$FPORT" --public-url "$FRONT_URL" --demo-login --purge-interval 0 \
  --jwks-refresh-interval 0 --log-format text --database-url "$URL" \
  --client-auth-failures-per-minute 100000 >"$WORK/front.log" 2>&1 &
FRONT_PID=$!
for _ in $(seq 50); do curl -fs "$FRONT_URL/healthz" >/dev/null && break; sleep 0.2; done
export CLIENT_ID CLIENT_SECRET REDIRECT
CLIENT_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_id"])' "$WORK/client.json")
CLIENT_SECRET=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_secret"])' "$WORK/client.json")

log "load: $WORKERS workers for ${LOAD_SECONDS}s; the primary is killed after ${KILL_AFTER}s"
(cd e2e && node ha/failover_load.js "$FRONT_URL" "$WORKERS" "$LOAD_SECONDS" "$WORK/load.json") &
LOAD_PID=$!
sleep "$KILL_AFTER"
KILLED_AT=$(date +%s.%N)
kill_node node1
wait_for "$P2" primary 60
log "node2 is primary $(python3 -c "import time; print(round(time.time() - $KILLED_AT, 2))")s after the kill"
wait "$LOAD_PID"

log "invariants on the new primary"
python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["refresh_token_hashes"]))' "$WORK/load.json" \
  >"$WORK/hashes.txt"
fail=0
check() { # description, query returning the number of violations
  local n
  n=$(psql -X -q -t -A "$URL" -c "$2")
  if [ "$n" = 0 ]; then log "ok: $1"; else log "FAILED: $1 ($n)"; fail=1; fi
}
psql -X -q "$URL" -v ON_ERROR_STOP=1 <<SQL
CREATE TEMP TABLE answered (h text);
\copy answered FROM '$WORK/hashes.txt'
CREATE TABLE public.failover_answered AS SELECT decode(h, 'hex') AS hash FROM answered;
SQL
check "every refresh token answered 200 is known to the new primary" \
  "SELECT count(*) FROM public.failover_answered a WHERE NOT EXISTS (SELECT FROM oauth.refresh_tokens t WHERE t.token_hash = a.hash)"
check "no code redeemed twice (at most one family per authorization)" \
  "SELECT count(*) FROM (SELECT authorization_id FROM oauth.grants WHERE authorization_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1) d"
check "no family half-rotated (each live family has exactly one open refresh token)" \
  "SELECT count(*) FROM oauth.grants g WHERE g.revoked_at IS NULL AND (SELECT count(*) FROM oauth.refresh_tokens t WHERE t.grant_id = g.id AND t.used_at IS NULL) <> 1"
check "no family revoked by a client's retry" \
  "SELECT count(*) FROM oauth.grants WHERE revoked_reason = 'refresh token reused'"
read -r doubled recovered workers <<<"$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["codes_redeemed_twice"], r["recovered"], r["workers"])' "$WORK/load.json")"
[ "$doubled" = 0 ] && log "ok: no code was answered 200 twice" || { log "FAILED: $doubled codes answered 200 twice"; fail=1; }
[ "$recovered" = "$workers" ] && log "ok: every client's family refreshes after the failover ($recovered/$workers)" \
  || { log "FAILED: $recovered of $workers clients recovered"; fail=1; }
log "refreshes retried after a lost answer (refresh_retry_grace): $(psql -X -q -t -A "$URL" -c "SELECT count(*) FROM oauth.audit_log WHERE event = 'refresh_token_retried'")"
python3 - "$WORK/load.json" "$WORK/hashes.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"[failover] {r['flows']} flows and {r['refreshes']} refreshes answered 200; "
      f"{sum(1 for _ in open(sys.argv[2]))} refresh tokens checked; longest time without a successful answer "
      f"{r['longest_gap_ms'] / 1000:.2f}s (from {r['gap_started_at_ms'] / 1000:.1f}s into the run); "
      f"{r['retries']} retries; code redemptions lost and replayed: {r['codeReplays']}")
print("[failover] errors seen by clients: " + json.dumps(r["errors"]))
PY
if grep -E 'status=5[0-9][0-9]' "$WORK/front.log" | grep -vq 'status=503'; then
  log "FAILED: the front answered a 5xx other than 503:"; grep 'status=5' "$WORK/front.log" | grep -v 'status=503' | head; fail=1
fi
exit "$fail"
