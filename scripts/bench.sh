#!/usr/bin/env bash
# Benchmarks on a throwaway local cluster, all in one run so the ratios compare like with like:
#   pgbench's built-in simple-update (the machine's baseline)
#   complete SQL flows/s (authorize -> authorization -> consent -> exchange_code)
#   exchange_code/s alone (codes made in setup)
#   refresh grants/s
#   a public client's refresh through oauth.token, bearer and DPoP-bound (a proof checked and
#   its jti taken per refresh)
#   client_credentials grants/s through oauth.token
#   session verifications/s: our own ES256 session token, and a trusted issuer's RS256 one
#   per-row cost of RLS policies over a 1M-row table
# Each with the cluster's CPU time per operation. The cluster keeps PostgreSQL's default
# durability (fsync, synchronous_commit, full_page_writes on): every grant and rotation is on
# disk before its answer. BENCH_DURABILITY=fast runs the same on fsync=off etc., for a figure
# that must be labelled so. Environment: BENCH_CLIENTS (default 8), BENCH_SECONDS (default 15),
# BENCH_CODES (codes per client for the exchange_code phase, default 2000).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${OAUTH_BENCH_DIR:-/tmp/oauth_server-bench}
C=${BENCH_CLIENTS:-8}
T=${BENCH_SECONDS:-15}
PG_MAJORS=${PG_MAJOR:-15} bash scripts/install-prereqs.sh >/dev/null
source scripts/lib.sh
PORT=${OAUTH_BENCH_PORT:-$PLAN_BENCH_PG}
PGBENCH=$(pg_tool pgbench)
cargo_release pgrx install --release --pg-config "$PG_CONFIG" >/dev/null
bash scripts/cluster.sh stop "$DIR" 2>/dev/null || true
rm -rf "$DIR"
CLUSTER_DURABILITY=${BENCH_DURABILITY:-durable} bash scripts/cluster.sh start "$DIR" "$PORT"
trap 'bash scripts/cluster.sh stop "$DIR"' EXIT
export PGHOST="$DIR/sock" PGPORT="$PORT" PGUSER=postgres
psql -X -q -c "CREATE DATABASE bench"
psql -X -q -d bench -v ON_ERROR_STOP=1 -f bench/setup_tokens.sql -f bench/setup_rls.sql >/dev/null
CID=$(psql -X -At -d bench -c "SELECT c->>'client_id' FROM bench_client")
CSEC=$(psql -X -At -d bench -c "SELECT c->>'client_secret' FROM bench_client")
"$PGBENCH" -i -q -s 10 bench >/dev/null 2>&1

CODES=${BENCH_CODES:-2000}   # per client, for the exchange_code phase
psql -X -q -d bench -v ON_ERROR_STOP=1 -c "SET bench.codes = $((CODES * C))" -f bench/setup_codes.sql >/dev/null

tps() { awk '/^tps = /{printf "%.0f", $3}'; }
lat() { awk '/^latency average = /{print $4}'; }
# Prepared statements, as the front (and any pooled client) calls the functions.
run() { "$PGBENCH" -n -M prepared -d bench -D cid="$CID" -D csec="$CSEC" "$@" 2>&1; }

# CPU time of the whole cluster in clock ticks (every Postgres process, reaped ones too).
TICK=$(getconf CLK_TCK)
cluster_ticks() { bash scripts/cluster.sh cpu-ticks "$DIR"; }
# measure NAME pgbench-args…: runs pgbench, fails the run on any failed transaction, and sets
# RATE_<NAME> (transactions/s) and CPU_<NAME> (ms of cluster CPU per transaction).
measure() {
  local name=$1 t0 t1 out n
  shift
  t0=$(cluster_ticks)
  out=$(run "$@")
  sleep 0.3 # let the postmaster reap the exiting backends
  t1=$(cluster_ticks)
  if ! echo "$out" | grep -q "number of failed transactions: 0"; then
    echo "$out"; echo "benchmark $name: transactions failed" >&2; exit 1
  fi
  n=$(echo "$out" | awk '/number of transactions actually processed/{print $6}' | cut -d/ -f1)
  printf -v "RATE_$name" '%s' "$(echo "$out" | tps)"
  printf -v "CPU_$name" '%s' "$(awk -v d=$((t1 - t0)) -v n="$n" -v k="$TICK" 'BEGIN{printf "%.3f", d*1000/k/n}')"
}

echo "clients=$C seconds=$T ($(nproc) cores) durability=${BENCH_DURABILITY:-durable} ($(psql -X -At -c "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')"))"
measure SU -b simple-update -c "$C" -j 2 -T "$T"
measure FLOW -f bench/flow.sql -c "$C" -j 2 -T "$T"
measure REFRESH -f bench/refresh.sql -c "$C" -j 2 -T "$T"
measure EXCHANGE -f bench/exchange_code.sql -c "$C" -j 2 -t "$CODES"
# A refresh that failed would leave NULL in its chain.
[ "$(psql -X -At -d bench -c 'SELECT count(*) FROM bench_rt WHERE token IS NULL')" = 0 ] || { echo "a refresh failed" >&2; exit 1; }

# Machine tokens: client_credentials through the token endpoint function.
MACHINE=$(psql -X -At -d bench -c "SELECT oauth.create_client('bench machine', ARRAY[]::text[], 'confidential', grant_types => ARRAY['client_credentials'])")
BASIC="Basic $(printf '%s:%s' "$(echo "$MACHINE" | node -e 'process.stdin.on("data", d => process.stdout.write(JSON.parse(d).client_id))')" \
  "$(echo "$MACHINE" | node -e 'process.stdin.on("data", d => process.stdout.write(JSON.parse(d).client_secret))')" | base64 -w0)"
measure CC -f bench/client_credentials.sql -D basic="$BASIC" -c "$C" -j 2 -T "$T"
[ "$(psql -X -At -d bench -c "SELECT count(*) FROM oauth.grants WHERE grant_type = 'client_credentials'")" -gt 0 ] \
  || { echo "client_credentials issued nothing" >&2; exit 1; }

# Token exchange (RFC 8693): an agent acting for a user, at the token endpoint function.
psql -X -q -d bench -v ON_ERROR_STOP=1 -f bench/setup_exchange.sql >/dev/null
AGENT=$(psql -X -At -d bench -c "SELECT agent FROM bench_exchange")
SUBJECT=$(psql -X -At -d bench -c "SELECT subject FROM bench_exchange")
AGENT_BASIC="Basic $(printf '%s:%s' "$(echo "$AGENT" | node -e 'process.stdin.on("data", d => process.stdout.write(JSON.parse(d).client_id))')" \
  "$(echo "$AGENT" | node -e 'process.stdin.on("data", d => process.stdout.write(JSON.parse(d).client_secret))')" | base64 -w0)"
measure TX -f bench/token_exchange.sql -D basic="$AGENT_BASIC" -D subject="$SUBJECT" \
  -D grant=urn:ietf:params:oauth:grant-type:token-exchange \
  -D subject_type=urn:ietf:params:oauth:token-type:access_token \
  -D audience=https://api.bench.example/ -c "$C" -j 2 -T "$T"
[ "$(psql -X -At -d bench -c "SELECT count(*) FROM oauth.grants WHERE grant_type = 'urn:ietf:params:oauth:grant-type:token-exchange'")" -gt 0 ] \
  || { echo "token exchange issued nothing" >&2; exit 1; }

# DPoP: a public client's refreshes through the token endpoint function, bound to a key (a
# proof per refresh, made ahead by the load side) beside bearer ones, in the same transaction
# shape (bench/refresh_dpop.sql, refresh_bearer_public.sql).
PER_CHAIN=${BENCH_DPOP_PROOFS:-6000}
psql -X -q -d bench -v ON_ERROR_STOP=1 -c "SET bench.chains = $C" -f bench/setup_dpop.sql >/dev/null
PUBLIC_ID=$(psql -X -At -d bench -c "SELECT c->>'client_id' FROM bench_public")
HTU=$(psql -X -At -d bench -c "SELECT oauth.metadata() ->> 'token_endpoint'")
(cd e2e && node bench/dpop_proofs.js "$HTU" "$C" "$PER_CHAIN") \
  | psql -X -q -d bench -v ON_ERROR_STOP=1 -c "\copy bench_dpop_proofs FROM STDIN"
psql -X -q -d bench -v ON_ERROR_STOP=1 -c "SET bench.chains = $C" -f bench/setup_dpop_chains.sql >/dev/null
measure PBEARER -f bench/refresh_bearer_public.sql -D cid="$PUBLIC_ID" -D chains="$C" -c "$C" -j 2 -T "$T"
measure PDPOP -f bench/refresh_dpop.sql -D cid="$PUBLIC_ID" -c "$C" -j 2 -T "$T"
[ "$(psql -X -At -d bench -c "SELECT count(*) FROM bench_dpop_rt WHERE token IS NULL")" = 0 ] || { echo "a DPoP-phase refresh failed" >&2; exit 1; }
[ "$(psql -X -At -d bench -c "SELECT count(*) FROM oauth.used_jtis WHERE kind = 'dpop'")" -gt "$C" ] \
  || { echo "the DPoP phase took no proof" >&2; exit 1; }

# Session verification: our own session token, and a Clerk-shaped RS256 token of a trusted issuer.
OWN_TOKEN=$(psql -X -At -d bench -c "SELECT oauth.issue_session_token('user_bench')")
ISSUER_JSON=$(cd e2e && node bench/issuer_token.js)
psql -X -q -d bench -v ON_ERROR_STOP=1 -v j="$ISSUER_JSON" >/dev/null <<'SQL'
SELECT oauth.add_issuer(:'j'::jsonb->>'issuer',
  jsonb_build_object('jwks', :'j'::jsonb->'jwks', 'refresh', false));
SQL
ISSUER_TOKEN=$(echo "$ISSUER_JSON" | node -e 'process.stdin.on("data", d => process.stdout.write(JSON.parse(d).token))')
measure VOWN -f bench/verify_session.sql -D tok="$OWN_TOKEN" -c "$C" -j 2 -T "$T"
measure VISS -f bench/verify_session.sql -D tok="$ISSUER_TOKEN" -c "$C" -j 2 -T "$T"

RLS_T=$(( T < 10 ? T : 10 ))
BASE=$(run -f bench/rls_baseline.sql -c 1 -T "$RLS_T" | lat)
HELPER=$(run -f bench/rls_helper.sql -c 1 -T "$RLS_T" | lat)
RAW=$(run -f bench/rls_raw.sql -c 1 -T "$RLS_T" | lat)
INITPLAN=$(run -f bench/rls_initplan.sql -c 1 -T "$RLS_T" | lat)
ROWS=$(psql -X -At -d bench -c "SELECT count(*) FROM docs_baseline")

row() { # label rate unit cpu
  awk -v l="$1" -v r="$2" -v u="$3" -v cpu="$4" -v su="$RATE_SU" 'BEGIN{printf "| %s | %d %s | %.2f | %.3f ms |\n", l, r, u, r/su, cpu}'
}
printf "\n| measure (%d clients) | result | ratio to simple-update TPS | cluster CPU per operation |\n|---|---|---|---|\n" "$C"
row "pgbench simple-update" "$RATE_SU" TPS "$CPU_SU"
row "complete SQL flows (authorize, authorization, consent, exchange_code)" "$RATE_FLOW" flows/s "$CPU_FLOW"
row "\`exchange_code\` (code made in setup; access, ID and refresh token)" "$RATE_EXCHANGE" exchanges/s "$CPU_EXCHANGE"
row "refresh grants (rotation + signed access and ID token)" "$RATE_REFRESH" refreshes/s "$CPU_REFRESH"
row "client_credentials grants (\`oauth.token\`, Basic auth, signed access token)" "$RATE_CC" grants/s "$CPU_CC"
row "token exchange (\`oauth.token\`, Basic auth, an agent acting for a user: subject verified, family derived, \`act\`)" "$RATE_TX" exchanges/s "$CPU_TX"
row "a public client's refresh, bearer (\`oauth.token\`)" "$RATE_PBEARER" refreshes/s "$CPU_PBEARER"
row "the same, DPoP-bound (ES256 proof checked, its jti taken, family key compared)" "$RATE_PDPOP" refreshes/s "$CPU_PDPOP"
row "\`verify_session\`, our ES256 session token" "$RATE_VOWN" verifications/s "$CPU_VOWN"
row "\`verify_session\`, a trusted issuer's RS256 session token (Clerk-shaped)" "$RATE_VISS" verifications/s "$CPU_VISS"
echo "(cluster CPU: user + system time of every Postgres process over the run, per transaction; pgbench runs on the same $(nproc) cores)"

awk -v base="$BASE" -v helper="$HELPER" -v raw="$RAW" -v initplan="$INITPLAN" -v rows="$ROWS" 'BEGIN {
  printf "\n| RLS over %d rows, 1 client | scan latency | policy cost per row |\n|---|---|---|\n", rows
  printf "| no policy, constant filter (baseline) | %.1f ms | - |\n", base
  printf "| `client_id = oauth.client_id()` | %.1f ms | %.0f ns |\n", helper, (helper-base)*1e6/rows
  printf "| `client_id = (SELECT oauth.client_id())` | %.1f ms | %.0f ns |\n", initplan, (initplan-base)*1e6/rows
  printf "| `client_id = (current_setting(\047request.jwt.claims\047, true)::jsonb ->> \047client_id\047)` | %.1f ms | %.0f ns |\n", raw, (raw-base)*1e6/rows
  printf "\noauth.client_id() per row is %.1fx cheaper than parsing the claims per row.\n", (raw-base)/(helper-base)
}'
