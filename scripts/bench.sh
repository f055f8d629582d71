#!/usr/bin/env bash
# Benchmarks on a throwaway local cluster, all in one run so the ratios compare like with like:
#   pgbench's built-in simple-update (the machine's baseline)
#   complete SQL flows/s (authorize -> authorization -> consent -> exchange_code)
#   refresh grants/s
#   client_credentials grants/s through oauth.token
#   session verifications/s: our own ES256 session token, and a trusted issuer's RS256 one
#   per-row cost of RLS policies over a 1M-row table
# Environment: BENCH_CLIENTS (default 4), BENCH_SECONDS (default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${OAUTH_BENCH_DIR:-/tmp/oauth_server-bench}
PORT=${OAUTH_BENCH_PORT:-55433}
C=${BENCH_CLIENTS:-4}
T=${BENCH_SECONDS:-15}
PGBIN=$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --bindir)

bash scripts/install-prereqs.sh >/dev/null
cargo pgrx install --release --pg-config "$PGBIN/pg_config" >/dev/null
bash scripts/cluster.sh stop "$DIR" 2>/dev/null || true
rm -rf "$DIR"
bash scripts/cluster.sh start "$DIR" "$PORT"
trap 'bash scripts/cluster.sh stop "$DIR"' EXIT
export PGHOST="$DIR/sock" PGPORT="$PORT" PGUSER=postgres
psql -X -q -c "CREATE DATABASE bench"
psql -X -q -d bench -v ON_ERROR_STOP=1 -f bench/setup_tokens.sql -f bench/setup_rls.sql >/dev/null
CID=$(psql -X -At -d bench -c "SELECT c->>'client_id' FROM bench_client")
CSEC=$(psql -X -At -d bench -c "SELECT c->>'client_secret' FROM bench_client")
"$PGBIN/pgbench" -i -q -s 10 bench >/dev/null 2>&1

tps() { awk '/^tps = /{printf "%.0f", $3}'; }
lat() { awk '/^latency average = /{print $4}'; }
run() { "$PGBIN/pgbench" -n -d bench -D cid="$CID" -D csec="$CSEC" "$@" 2>&1; }

echo "clients=$C seconds=$T ($(nproc) cores)"
SU=$(run -b simple-update -c "$C" -j 2 -T "$T" | tps)
FLOW_OUT=$(run -f bench/flow.sql -c "$C" -j 2 -T "$T")
FLOW=$(echo "$FLOW_OUT" | tps)
REFRESH_OUT=$(run -f bench/refresh.sql -c "$C" -j 2 -T "$T")
REFRESH=$(echo "$REFRESH_OUT" | tps)
for out in "$FLOW_OUT" "$REFRESH_OUT"; do
  if ! echo "$out" | grep -q "number of failed transactions: 0"; then echo "$out"; echo "benchmark transactions failed" >&2; exit 1; fi
done
# A refresh that failed would leave NULL in its chain.
[ "$(psql -X -At -d bench -c 'SELECT count(*) FROM bench_rt WHERE token IS NULL')" = 0 ] || { echo "a refresh failed" >&2; exit 1; }

# Machine tokens: client_credentials through the token endpoint function.
MACHINE=$(psql -X -At -d bench -c "SELECT oauth.create_client('bench machine', ARRAY[]::text[], 'confidential', grant_types => ARRAY['client_credentials'])")
BASIC="Basic $(printf '%s:%s' "$(echo "$MACHINE" | node -e 'process.stdin.on("data", d => process.stdout.write(JSON.parse(d).client_id))')" \
  "$(echo "$MACHINE" | node -e 'process.stdin.on("data", d => process.stdout.write(JSON.parse(d).client_secret))')" | base64 -w0)"
CC_OUT=$(run -f bench/client_credentials.sql -D basic="$BASIC" -c "$C" -j 2 -T "$T")
echo "$CC_OUT" | grep -q "number of failed transactions: 0" || { echo "$CC_OUT"; exit 1; }
CC=$(echo "$CC_OUT" | tps)
[ "$(psql -X -At -d bench -c "SELECT count(*) FROM oauth.grants WHERE grant_type = 'client_credentials'")" -gt 0 ] \
  || { echo "client_credentials issued nothing" >&2; exit 1; }

# Session verification: our own session token, and a Clerk-shaped RS256 token of a trusted issuer.
OWN_TOKEN=$(psql -X -At -d bench -c "SELECT oauth.issue_session_token('user_bench')")
ISSUER_JSON=$(cd e2e && node bench/issuer_token.js)
psql -X -q -d bench -v ON_ERROR_STOP=1 -v j="$ISSUER_JSON" >/dev/null <<'SQL'
SELECT oauth.add_issuer(:'j'::jsonb->>'issuer',
  jsonb_build_object('jwks', :'j'::jsonb->'jwks', 'refresh', false));
SQL
ISSUER_TOKEN=$(echo "$ISSUER_JSON" | node -e 'process.stdin.on("data", d => process.stdout.write(JSON.parse(d).token))')
VERIFY_OWN_OUT=$(run -f bench/verify_session.sql -D tok="$OWN_TOKEN" -c "$C" -j 2 -T "$T")
VERIFY_ISSUER_OUT=$(run -f bench/verify_session.sql -D tok="$ISSUER_TOKEN" -c "$C" -j 2 -T "$T")
for out in "$VERIFY_OWN_OUT" "$VERIFY_ISSUER_OUT"; do
  if ! echo "$out" | grep -q "number of failed transactions: 0"; then echo "$out"; echo "verification failed" >&2; exit 1; fi
done
VERIFY_OWN=$(echo "$VERIFY_OWN_OUT" | tps)
VERIFY_ISSUER=$(echo "$VERIFY_ISSUER_OUT" | tps)

RLS_T=$(( T < 10 ? T : 10 ))
BASE=$(run -f bench/rls_baseline.sql -c 1 -T "$RLS_T" | lat)
HELPER=$(run -f bench/rls_helper.sql -c 1 -T "$RLS_T" | lat)
RAW=$(run -f bench/rls_raw.sql -c 1 -T "$RLS_T" | lat)
INITPLAN=$(run -f bench/rls_initplan.sql -c 1 -T "$RLS_T" | lat)
ROWS=$(psql -X -At -d bench -c "SELECT count(*) FROM docs_baseline")

awk -v su="$SU" -v flow="$FLOW" -v refresh="$REFRESH" -v cc="$CC" -v vown="$VERIFY_OWN" -v viss="$VERIFY_ISSUER" -v base="$BASE" -v helper="$HELPER" -v raw="$RAW" \
    -v initplan="$INITPLAN" -v rows="$ROWS" -v c="$C" 'BEGIN {
  printf "\n| measure (%d clients) | result | ratio to simple-update TPS |\n|---|---|---|\n", c
  printf "| pgbench simple-update | %d TPS | 1.00 |\n", su
  printf "| complete SQL flows (authorize, authorization, consent, exchange_code) | %d flows/s | %.2f |\n", flow, flow/su
  printf "| refresh grants (rotation + signed access token) | %d refreshes/s | %.2f |\n", refresh, refresh/su
  printf "| client_credentials grants (`oauth.token`, Basic auth, signed access token) | %d grants/s | %.2f |\n", cc, cc/su
  printf "| `verify_session`, our ES256 session token | %d verifications/s | %.2f |\n", vown, vown/su
  printf "| `verify_session`, a trusted issuer\047s RS256 session token (Clerk-shaped) | %d verifications/s | %.2f |\n", viss, viss/su
  printf "\n| RLS over %d rows, 1 client | scan latency | policy cost per row |\n|---|---|---|\n", rows
  printf "| no policy, constant filter (baseline) | %.1f ms | - |\n", base
  printf "| `client_id = oauth.client_id()` | %.1f ms | %.0f ns |\n", helper, (helper-base)*1e6/rows
  printf "| `client_id = (SELECT oauth.client_id())` | %.1f ms | %.0f ns |\n", initplan, (initplan-base)*1e6/rows
  printf "| `client_id = (current_setting(\047request.jwt.claims\047, true)::jsonb ->> \047client_id\047)` | %.1f ms | %.0f ns |\n", raw, (raw-base)*1e6/rows
  printf "\noauth.client_id() per row is %.1fx cheaper than parsing the claims per row.\n", (raw-base)/(helper-base)
}'
