#!/usr/bin/env bash
# HTTP benchmark on loopback, everything in one run so the ratios compare like with like:
#   oauth-front (release) on a throwaway cluster  vs  oidc-provider (npm, in-memory storage)
#   refresh grants/s and complete returning-user flows/s through each, same load generator
#   (e2e/bench/load.js), same client behaviour, ES256 ID token + JWT access token each time;
#   plus the same refreshes as direct SQL calls (pgbench) to show the front's overhead.
# Environment: BENCH_CLIENTS (default 8), BENCH_SECONDS (default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${OAUTH_BENCH_DIR:-/tmp/oauth_server-bench-http}
PORT=${OAUTH_BENCH_PORT:-55434}
FRONT_PORT=18090
OP_PORT=18091
C=${BENCH_CLIENTS:-8}
T=${BENCH_SECONDS:-15}
PGBIN=$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --bindir)

bash scripts/install-prereqs.sh >/dev/null
cargo pgrx install --release --pg-config "$PGBIN/pg_config" >/dev/null
cargo build --release -p oauth-front 2>/dev/null
bash scripts/cluster.sh stop "$DIR" 2>/dev/null || true
rm -rf "$DIR"
bash scripts/cluster.sh start "$DIR" "$PORT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; bash scripts/cluster.sh stop "$DIR"; }
trap cleanup EXIT
export PGHOST="$DIR/sock" PGPORT="$PORT" PGUSER=postgres
psql -X -q -c "CREATE DATABASE bench"
psql -X -q -d bench -v ON_ERROR_STOP=1 -f bench/setup_tokens.sql >/dev/null
psql -X -q -d bench -c "ALTER DATABASE bench SET oauth_server.issuer = 'http://127.0.0.1:$FRONT_PORT'" \
  -c "ALTER DATABASE bench SET oauth_server.consent_url = 'http://127.0.0.1:$FRONT_PORT/consent'"
CID=$(psql -X -At -d bench -c "SELECT c->>'client_id' FROM bench_client")
CSEC=$(psql -X -At -d bench -c "SELECT c->>'client_secret' FROM bench_client")

DATABASE_URL="host=$DIR/sock port=$PORT user=postgres dbname=bench" OAUTH_FRONT_LOG=warn \
  target/release/oauth-front --listen "127.0.0.1:$FRONT_PORT" --pool-size "$C" --demo-login --purge-interval 0 \
  >"$DIR/front.log" 2>&1 &
PIDS+=($!)
(cd e2e && PORT=$OP_PORT CLIENT_SECRET="$CSEC" exec node bench/oidc_provider_server.js >"$DIR/oidc-provider.log" 2>&1) &
PIDS+=($!)
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$FRONT_PORT/healthz" >/dev/null && curl -fs "http://127.0.0.1:$OP_PORT/.well-known/openid-configuration" >/dev/null && break
  sleep 0.2
done

load() { (cd e2e && CLIENT_ID=$1 CLIENT_SECRET="$CSEC" node bench/load.js "$2" "$3" "$4" "$C" "$T"); }
field() { node -e "const r = JSON.parse(process.argv[1]); if (r.errors) { console.error(JSON.stringify(r)); process.exit(1) } console.log(r.per_second)" "$1"; }

echo "clients=$C seconds=$T ($(nproc) cores)"
OURS_REFRESH=$(field "$(load "$CID" ours refresh "http://127.0.0.1:$FRONT_PORT")")
OP_REFRESH=$(field "$(load bench oidc-provider refresh "http://127.0.0.1:$OP_PORT")")
OURS_FLOW=$(field "$(load "$CID" ours flow "http://127.0.0.1:$FRONT_PORT")")
OP_FLOW=$(field "$(load bench oidc-provider flow "http://127.0.0.1:$OP_PORT")")
SQL_OUT=$("$PGBIN/pgbench" -n -d bench -D cid="$CID" -D csec="$CSEC" -f bench/refresh.sql -c "$C" -j 2 -T "$T" 2>&1)
echo "$SQL_OUT" | grep -q "number of failed transactions: 0" || { echo "$SQL_OUT"; exit 1; }
SQL_REFRESH=$(echo "$SQL_OUT" | awk '/^tps = /{printf "%.0f", $3}')

awk -v orr="$OURS_REFRESH" -v opr="$OP_REFRESH" -v of="$OURS_FLOW" -v opf="$OP_FLOW" -v sr="$SQL_REFRESH" -v c="$C" 'BEGIN {
  printf "\n| over HTTP, %d concurrent clients | oauth-front | oidc-provider | ratio |\n|---|---|---|---|\n", c
  printf "| refresh grants/s | %d | %d | %.2fx |\n", orr, opr, orr/opr
  printf "| complete flows/s (returning user: authorize, consent step, token) | %d | %d | %.2fx |\n", of, opf, of/opf
  printf "\n| refresh grants/s, %d clients | direct SQL (pgbench) | through oauth-front | front keeps |\n|---|---|---|---|\n", c
  printf "| oauth.refresh | %d | %d | %.0f%% |\n", sr, orr, 100*orr/sr
}'
