#!/usr/bin/env bash
# HTTP benchmark on loopback, everything in one run so the ratios compare like with like:
#   oauth-front (release) on a throwaway cluster  vs  oidc-provider (npm, in-memory storage)
#   complete flows/s of new users (sign-in, authorize, consent page, approval, code exchange),
#   returning-user flows/s and refresh grants/s through each, same load generator
#   (e2e/bench/load.js), same client behaviour, ES256 ID token + JWT access token each time,
#   every response checked (an error fails the run); plus the same refreshes as direct SQL
#   calls (pgbench) to show the front's overhead, and the CPU per operation of the cluster,
#   the front, oidc-provider and the load generator (they share the cores).
# The cluster keeps PostgreSQL's default durability (every commit on disk before the answer);
# BENCH_DURABILITY=fast runs it on fsync=off etc., a figure that must be labelled so.
# Environment: BENCH_CLIENTS (default 8), BENCH_SECONDS (default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${OAUTH_BENCH_DIR:-/tmp/oauth_server-bench-http}
PORT=${OAUTH_BENCH_PORT:-55434}
FRONT_PORT=18090
OP_PORT=18091
C=${BENCH_CLIENTS:-8}
T=${BENCH_SECONDS:-15}
PG_MAJORS=${PG_MAJOR:-15} bash scripts/install-prereqs.sh >/dev/null
source scripts/lib.sh
cargo pgrx install --release --pg-config "$PG_CONFIG" >/dev/null
cargo build --release -p oauth-front 2>/dev/null
bash scripts/cluster.sh stop "$DIR" 2>/dev/null || true
rm -rf "$DIR"
CLUSTER_DURABILITY=${BENCH_DURABILITY:-durable} bash scripts/cluster.sh start "$DIR" "$PORT"
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
FRONT_PID=$!
PIDS+=($FRONT_PID)
(cd e2e && PORT=$OP_PORT CLIENT_SECRET="$CSEC" exec node bench/oidc_provider_server.js >"$DIR/oidc-provider.log" 2>&1) &
OP_PID=$!
PIDS+=($OP_PID)
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$FRONT_PORT/healthz" >/dev/null && curl -fs "http://127.0.0.1:$OP_PORT/.well-known/openid-configuration" >/dev/null && break
  sleep 0.2
done

load() { (cd e2e && CLIENT_ID=$1 CLIENT_SECRET="$CSEC" node bench/load.js "$2" "$3" "$4" "$C" "$T"); }
field() { node -e "const r = JSON.parse(process.argv[1]); if (r.errors) { console.error(JSON.stringify(r)); process.exit(1) } console.log(r[process.argv[2]])" "$1" "$2"; }

# CPU time of the whole cluster in clock ticks (every Postgres process, reaped ones too).
TICK=$(getconf CLK_TCK)
cluster_ticks() { bash scripts/cluster.sh cpu-ticks "$DIR"; }
# CPU time of one process (user + system), in clock ticks.
proc_ticks() { local f; read -r -a f <"/proc/$1/stat"; echo $((f[13] + f[14])); }
per_op_ms() { awk -v d="$1" -v n="$2" -v k="$TICK" 'BEGIN{printf "%.3f", d*1000/k/n}'; }
# ours MODE: sets RATE, CPU (ms of cluster CPU per operation), FRONT_CPU (the front's) and
# LOAD_CPU (the load generator's) for oauth-front.
ours() {
  local t0 f0 out n
  t0=$(cluster_ticks)
  f0=$(proc_ticks "$FRONT_PID")
  out=$(load "$CID" ours "$1" "http://127.0.0.1:$FRONT_PORT")
  n=$(field "$out" ops)
  RATE=$(field "$out" per_second)
  CPU=$(per_op_ms $(($(cluster_ticks) - t0)) "$n")
  FRONT_CPU=$(per_op_ms $(($(proc_ticks "$FRONT_PID") - f0)) "$n")
  LOAD_CPU=$(field "$out" load_cpu_ms)
}
# op MODE: sets RATE, OP_CPU (oidc-provider's CPU per operation) and LOAD_CPU.
op() {
  local p0 out
  p0=$(proc_ticks "$OP_PID")
  out=$(load bench oidc-provider "$1" "http://127.0.0.1:$OP_PORT")
  RATE=$(field "$out" per_second)
  OP_CPU=$(per_op_ms $(($(proc_ticks "$OP_PID") - p0)) "$(field "$out" ops)")
  LOAD_CPU=$(field "$out" load_cpu_ms)
}

echo "clients=$C seconds=$T ($(nproc) cores) durability=${BENCH_DURABILITY:-durable} ($(psql -X -At -c "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')"))"
# Each phase's CPU per operation, for the table: "cluster front load | oidc-provider load".
ours fresh; OURS_FRESH=$RATE; CPU_FRESH=$CPU; SPLIT_FRESH="$CPU $FRONT_CPU $LOAD_CPU"
op fresh; OP_FRESH=$RATE; SPLIT_FRESH="$SPLIT_FRESH $OP_CPU $LOAD_CPU"
ours flow; OURS_FLOW=$RATE; CPU_FLOW=$CPU; SPLIT_FLOW="$CPU $FRONT_CPU $LOAD_CPU"
op flow; OP_FLOW=$RATE; SPLIT_FLOW="$SPLIT_FLOW $OP_CPU $LOAD_CPU"
ours refresh; OURS_REFRESH=$RATE; CPU_REFRESH=$CPU; SPLIT_REFRESH="$CPU $FRONT_CPU $LOAD_CPU"
op refresh; OP_REFRESH=$RATE; SPLIT_REFRESH="$SPLIT_REFRESH $OP_CPU $LOAD_CPU"
T0=$(cluster_ticks)
SQL_OUT=$("$(pg_tool pgbench)" -n -M prepared -d bench -D cid="$CID" -D csec="$CSEC" -f bench/refresh.sql -c "$C" -j 2 -T "$T" 2>&1)
sleep 0.3
echo "$SQL_OUT" | grep -q "number of failed transactions: 0" || { echo "$SQL_OUT"; exit 1; }
SQL_REFRESH=$(echo "$SQL_OUT" | awk '/^tps = /{printf "%.0f", $3}')
CPU_SQL=$(per_op_ms $(($(cluster_ticks) - T0)) "$(echo "$SQL_OUT" | awk '/actually processed/{print $6}' | cut -d/ -f1)")

awk -v orr="$OURS_REFRESH" -v opr="$OP_REFRESH" -v of="$OURS_FLOW" -v opf="$OP_FLOW" -v ofr="$OURS_FRESH" -v opfr="$OP_FRESH" \
    -v sr="$SQL_REFRESH" -v c="$C" -v cfr="$CPU_FRESH" -v cf="$CPU_FLOW" -v cr="$CPU_REFRESH" -v cs="$CPU_SQL" 'BEGIN {
  printf "\n| over HTTP, %d concurrent clients | oauth-front | oidc-provider | ratio | cluster CPU per operation (ours) |\n|---|---|---|---|---|\n", c
  printf "| complete flows/s, new users (sign-in, authorize, consent page, approve, token) | %d | %d | %.2fx | %.3f ms |\n", ofr, opfr, ofr/opfr, cfr
  printf "| returning-user flows/s (authorize, consent step, token) | %d | %d | %.2fx | %.3f ms |\n", of, opf, of/opf, cf
  printf "| refresh grants/s | %d | %d | %.2fx | %.3f ms |\n", orr, opr, orr/opr, cr
  printf "\n| refresh grants/s, %d clients | direct SQL (pgbench) | through oauth-front | front keeps |\n|---|---|---|---|\n", c
  printf "| oauth.refresh | %d (%.3f ms CPU each) | %d | %.0f%% |\n", sr, cs, orr, 100*orr/sr
}'
# Where each operation's CPU goes: every process shares the same cores, so the sum bounds the rate.
printf "\n| CPU per operation (ms) | Postgres | oauth-front | load generator | ours, all | oidc-provider | load generator | theirs, all |\n|---|---|---|---|---|---|---|---|\n"
for phase in "new-user flow:$SPLIT_FRESH" "returning-user flow:$SPLIT_FLOW" "refresh:$SPLIT_REFRESH"; do
  echo "${phase#*:}" | awk -v l="${phase%%:*}" '{printf "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", l, $1, $2, $3, $1+$2+$3, $4, $5, $4+$5}'
done
