#!/usr/bin/env bash
# Read-only routes on a hot standby: a primary and a streaming standby (synchronous,
# remote_apply) on loopback, oauth-front with --replica-url, then e2e/ha/standby_reads.test.js:
# reads land on the standby, a token issued a moment ago verifies, a revocation is seen at
# once, and with the primary stopped every read-only route still answers from the standby.
#   scripts/replica-test.sh [front binary]   (default the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
WORK=${OAUTH_REPLICA_DIR:-$TEST_ROOT/replica}
PPORT=${OAUTH_REPLICA_PORT:-$PLAN_REPLICA_PG}
SPORT=$((PPORT + 1))
FPORT=${OAUTH_REPLICA_FRONT_PORT:-$PLAN_REPLICA_FRONT}
FRONT_BIN=${1:-$(front_bin debug)}
FRONT_URL="http://127.0.0.1:$FPORT"

# Ours only: test.sh exports FRONT_PID for its own stack's front.
FRONT_PID="" FRONT2_PID="" FRONT3_PID=""
cleanup() {
  [ -n "${FRONT_PID:-}" ] && kill "$FRONT_PID" 2>/dev/null
  [ -n "${FRONT2_PID:-}" ] && kill "$FRONT2_PID" 2>/dev/null
  [ -n "${FRONT3_PID:-}" ] && kill "$FRONT3_PID" 2>/dev/null
  [ -n "${WALSENDER:-}" ] && kill -CONT "$WALSENDER" 2>/dev/null
  bash scripts/cluster.sh stop "$WORK/primary" 2>/dev/null || true
  bash scripts/cluster.sh stop "$WORK/standby" 2>/dev/null || true
}
cleanup
trap cleanup EXIT
rm -rf "$WORK" && mkdir -p "$WORK" && chmod 777 "$WORK"
bash scripts/cluster.sh start "$WORK/primary" "$PPORT"
PSQL_PRIMARY="-h $WORK/primary/sock -p $PPORT -U postgres"
psql -X -q $PSQL_PRIMARY -v ON_ERROR_STOP=1 <<SQL
CREATE DATABASE app;
CREATE DATABASE app_async;
ALTER SYSTEM SET synchronous_standby_names = 'standby1';
SELECT pg_reload_conf();
-- Per database: it overrides the test cluster's synchronous_commit=off (cluster.sh).
ALTER DATABASE app SET synchronous_commit = 'remote_apply';
SQL
# The standby: a base backup of the primary, following it (application_name names it in
# synchronous_standby_names); the same max_connections, as a standby needs.
mkdir -p "$WORK/standby/sock" && chown -R postgres "$WORK/standby" 2>/dev/null || true
as_pg "$(pg_tool pg_basebackup)" --checkpoint=fast -h "$WORK/primary/sock" -p "$PPORT" -U postgres -D "$WORK/standby/data" \
  -X stream -R -d "application_name=standby1" >/dev/null
bash scripts/cluster.sh start "$WORK/standby" "$SPORT"
# Every statement in the standby's log: the test counts the calls it answered.
psql -X -q -h "$WORK/standby/sock" -p "$SPORT" -U postgres \
  -c "ALTER SYSTEM SET log_min_duration_statement = 0" -c "SELECT pg_reload_conf()" >/dev/null
psql -X -q $PSQL_PRIMARY -d app -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION oauth_server;
ALTER DATABASE app SET oauth_server.issuer = '$FRONT_URL';
ALTER DATABASE app SET oauth_server.consent_url = '$FRONT_URL/consent';
-- The first signing keys are made on first use, on the primary (a standby cannot).
SELECT oauth.metadata() IS NOT NULL;
SQL
# app_async: commits do not wait for the standby (the test pauses its replay there), and a
# second front lets that standby be any distance behind.
psql -X -q $PSQL_PRIMARY -d app_async -v ON_ERROR_STOP=1 <<SQL
ALTER DATABASE app_async SET synchronous_commit = 'local';
CREATE EXTENSION oauth_server;
ALTER DATABASE app_async SET oauth_server.issuer = 'http://127.0.0.1:$((FPORT + 1))';
SELECT oauth.metadata() IS NOT NULL;
SQL
async_front() { # port max-lag log: a front on app_async with that lag bound
  "$FRONT_BIN" --listen "127.0.0.1:$1" --demo-login --purge-interval 0 \
    --jwks-refresh-interval 0 --log-format text --replica-max-lag "$2" \
    --database-url "host=$WORK/primary/sock port=$PPORT user=postgres dbname=app_async" \
    --replica-url "host=$WORK/standby/sock port=$SPORT user=postgres dbname=app_async" \
    --replica-check-interval 100 >"$WORK/$3" 2>&1 &
}
async_front $((FPORT + 1)) 3600 front2.log
FRONT2_PID=$!
# A third front on app_async with a short bound (0.5 s): a standby that stops receiving must
# fall out of it.
async_front $((FPORT + 2)) 0.5 front3.log
FRONT3_PID=$!
"$FRONT_BIN" --listen "127.0.0.1:$FPORT" --public-url "$FRONT_URL" --demo-login --purge-interval 0 \
  --jwks-refresh-interval 0 --log-format text \
  --database-url "host=$WORK/primary/sock port=$PPORT user=postgres dbname=app" \
  --replica-url "host=$WORK/standby/sock port=$SPORT user=postgres dbname=app" \
  --replica-check-interval 100 >"$WORK/front.log" 2>&1 &
FRONT_PID=$!
for _ in $(seq 50); do curl -fs "$FRONT_URL/healthz" >/dev/null && break; sleep 0.2; done
# shellcheck disable=SC2097,SC2098 # PSQL_ASYNC is built from this shell's PSQL_PRIMARY, on purpose
(cd e2e && FRONT_URL="$FRONT_URL" LAGGING_FRONT_URL="http://127.0.0.1:$((FPORT + 1))" \
  STRICT_FRONT_URL="http://127.0.0.1:$((FPORT + 2))" \
  PSQL_PRIMARY="$PSQL_PRIMARY -d app" PSQL_STANDBY="-h $WORK/standby/sock -p $SPORT -U postgres -d app" \
  PSQL_ASYNC="$PSQL_PRIMARY -d app_async" \
  STOP_PRIMARY="bash ../scripts/cluster.sh stop $WORK/primary" STANDBY_LOG="$WORK/standby/data/postgres.log" \
  node --test --test-concurrency=1 ha/standby_reads.test.js) \
  || { echo "--- front log (tail)"; tail -30 "$WORK/front.log"; exit 1; }
if grep -E 'status=5[0-9][0-9]' "$WORK/front.log" | grep -vq 'status=503'; then
  echo "the front answered a 5xx other than 503:"; grep 'status=5' "$WORK/front.log" | head; exit 1
fi
