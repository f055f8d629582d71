#!/usr/bin/env bash
# The HTTP benchmark: oauth-front (release) on a throwaway cluster against oidc-provider (npm,
# in-memory storage, e2e/bench/oidc_provider_server.js), one load generator (e2e/bench/load.js)
# driving both with the same client behaviour, ES256 JWT access tokens and ID tokens on both
# sides, every response checked (a phase with an error answer fails the run).
#
# Headline: the servers' own CPU time per operation, because a rate on shared cores measures
# the load generator too. Read from /proc/<pid>/stat (utime + stime) right before and after each
# phase's timed part (e2e/bench/proc_cpu.js): ours = the front + the Postgres client backends
# serving it; the WAL writer + checkpointer and the rest of the cluster beside it, not in it;
# theirs = oidc-provider's node process (all its threads).
# Second view, pinned: Postgres and the front on core 0, oidc-provider alone on core 0 in its
# run, the load generator on core 1: operations/s, and the CPU per operation again.
# Last: the same refreshes as direct SQL calls (pgbench), to show what the front keeps.
#
# Phases (BENCH_PHASES, this order by default), each ours then oidc-provider's:
#   fresh               complete flows of new users (sign-in, authorize, consent, token)
#   flow                returning-user flows (consent exists, auto-approved)
#   refresh             refresh grants, each client rotating its own chain
#   client_credentials  client_credentials grants (Basic auth, a JWT access token)
#   introspect          introspection: ours of its JWT access token; oidc-provider of its refresh
#                       token (it answers 400 unsupported_token_type for any JWT)
#   introspect_refresh  introspection of a refresh token on both sides (like for like)
# The cluster keeps PostgreSQL's default durability (every commit on disk before the answer);
# BENCH_DURABILITY=fast runs it on fsync=off etc., a figure that must be labelled so.
# Environment: BENCH_CLIENTS (8), BENCH_SECONDS (15 per phase and side), BENCH_PINNED
# (both: unpinned then pinned; only; off), OAUTH_BENCH_DIR, OAUTH_BENCH_PORT (the cluster),
# OAUTH_BENCH_FRONT_PORT, OAUTH_BENCH_OP_PORT (oidc-provider). Raw results: $DIR/results.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${OAUTH_BENCH_DIR:-/tmp/oauth_server-bench-http}
C=${BENCH_CLIENTS:-8}
T=${BENCH_SECONDS:-15}
PINNED=${BENCH_PINNED:-both}
PHASES=${BENCH_PHASES:-fresh flow refresh client_credentials introspect introspect_refresh}
case $PINNED in both | only | off) ;; *) echo "BENCH_PINNED is both, only or off" >&2; exit 2 ;; esac
if [ "$PINNED" != off ] && [ "$(nproc)" -lt 2 ]; then
  echo "only $(nproc) core: no pinned pass (it needs one core for the servers and one for the load generator); running unpinned" >&2
  PINNED=off
fi

PG_MAJORS=${PG_MAJOR:-15} bash scripts/install-prereqs.sh >/dev/null
source scripts/lib.sh
PORT=${OAUTH_BENCH_PORT:-$PLAN_BENCH_HTTP_PG}
FRONT_PORT=${OAUTH_BENCH_FRONT_PORT:-$PLAN_BENCH_HTTP_FRONT}
OP_PORT=${OAUTH_BENCH_OP_PORT:-$PLAN_BENCH_HTTP_OP}
FRONT=$(front_bin release)
cargo_release pgrx install --release --pg-config "$PG_CONFIG" >/dev/null
cargo_release build --release -p oauth-front 2>/dev/null
bash scripts/cluster.sh stop "$DIR" 2>/dev/null || true
rm -rf "$DIR"
CLUSTER_DURABILITY=${BENCH_DURABILITY:-durable} bash scripts/cluster.sh start "$DIR" "$PORT"
FRONT_PID="" OP_PID=""
stop_pid() { if [ -n "$1" ]; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi; }
cleanup() { stop_pid "$FRONT_PID"; stop_pid "$OP_PID"; bash scripts/cluster.sh stop "$DIR"; }
trap cleanup EXIT
export PGHOST="$DIR/sock" PGPORT="$PORT" PGUSER=postgres
psql -X -q -c "CREATE DATABASE bench"
psql -X -q -d bench -v ON_ERROR_STOP=1 -f bench/setup_tokens.sql >/dev/null
psql -X -q -d bench -c "ALTER DATABASE bench SET oauth_server.issuer = 'http://127.0.0.1:$FRONT_PORT'" \
  -c "ALTER DATABASE bench SET oauth_server.consent_url = 'http://127.0.0.1:$FRONT_PORT/consent'"
CID=$(psql -X -At -d bench -c "SELECT c->>'client_id' FROM bench_client")
CSEC=$(psql -X -At -d bench -c "SELECT c->>'client_secret' FROM bench_client")
PM=$(head -1 "$DIR/data/postmaster.pid")
TICK=$(getconf CLK_TCK)
RESULTS=$DIR/results.jsonl
LOAD_PREFIX=() # the load generator's taskset in the pinned pass

wait_up() {
  for _ in $(seq 100); do curl -fs "$1" >/dev/null && return; sleep 0.1; done
  echo "$1 does not answer" >&2; exit 1
}
# start_front [PREFIX…]: the front, its command prefixed (taskset -c 0 in the pinned pass).
start_front() {
  DATABASE_URL="host=$DIR/sock port=$PORT user=postgres dbname=bench" OAUTH_FRONT_LOG=warn \
    "$@" "$FRONT" --listen "127.0.0.1:$FRONT_PORT" --pool-size "$C" --demo-login \
    --purge-interval 0 >>"$DIR/front.log" 2>&1 &
  FRONT_PID=$!
  wait_up "http://127.0.0.1:$FRONT_PORT/healthz"
}
start_front
# exec: the pid is node's own, whose /proc/<pid>/stat the CPU probe reads.
(cd e2e && PORT=$OP_PORT CLIENT_SECRET="$CSEC" exec node bench/oidc_provider_server.js >"$DIR/oidc-provider.log" 2>&1) &
OP_PID=$!
wait_up "http://127.0.0.1:$OP_PORT/.well-known/openid-configuration"

# phase PASS SIDE MODE: one load.js run (BENCH_SECONDS timed, after its warm-up), its result
# checked and appended to $RESULTS with the server CPU its probe read.
phase() {
  local pass=$1 side=$2 mode=$3 url id probe out
  if [ "$side" = ours ]; then
    url=http://127.0.0.1:$FRONT_PORT id=$CID
    probe="{\"front\":$FRONT_PID,\"postmaster\":$PM,\"backend\":\"postgres bench\"}"
  else
    url=http://127.0.0.1:$OP_PORT id=bench probe="{\"server\":$OP_PID}"
  fi
  echo "$pass: $side $mode" >&2
  out=$(cd e2e && CLIENT_ID=$id CLIENT_SECRET=$CSEC CPU_PROBE=$probe CLK_TCK=$TICK \
    "${LOAD_PREFIX[@]}" node bench/load.js "$side" "$mode" "$url" "$C" "$T")
  (cd e2e && node bench/report.js check "$pass" "$out") >>"$RESULTS"
}
# Ours then theirs, phase by phase, so the two see the machine at about the same moment.
run_pass() {
  local mode
  for mode in $PHASES; do phase "$1" ours "$mode"; phase "$1" oidc-provider "$mode"; done
}

# The refreshes of the phase above as direct SQL calls, with the whole cluster's CPU per call
# (pgbench's backends exit at its end: cluster.sh cpu-ticks counts reaped ones too).
sql_refresh() {
  local t0 t1 out n
  t0=$(bash scripts/cluster.sh cpu-ticks "$DIR")
  out=$("${LOAD_PREFIX[@]}" "$(pg_tool pgbench)" -n -M prepared -d bench -D cid="$CID" -D csec="$CSEC" \
    -f bench/refresh.sql -c "$C" -j 2 -T "$T" 2>&1)
  sleep 0.3 # let the postmaster reap the exiting backends
  t1=$(bash scripts/cluster.sh cpu-ticks "$DIR")
  echo "$out" | grep -q "number of failed transactions: 0" || { echo "$out" >&2; exit 1; }
  n=$(echo "$out" | awk '/actually processed/{print $6}' | cut -d/ -f1)
  echo "$out" | awk -v p="$1" -v d=$((t1 - t0)) -v n="$n" -v k="$TICK" '/^tps = /{
    printf "{\"pass\":\"sql\",\"measured_with\":\"%s\",\"per_second\":%d,\"cluster_cpu_ms\":%.4f}\n", p, $3, d*1000/k/n }' >>"$RESULTS"
}

# Postgres and the front on core 0, oidc-provider on core 0 (alone in its runs, as ours are),
# the load generator on core 1. A backend inherits the postmaster's affinity when forked, so
# the front restarts after the cluster is pinned and its pool connects anew.
pin() {
  local p
  stop_pid "$FRONT_PID"
  for p in "$PM" $(pgrep -P "$PM"); do
    taskset -pc 0 "$p" >/dev/null 2>&1 || [ ! -e "/proc/$p" ] # a backend of the old pool may just have exited
  done
  start_front taskset -c 0
  taskset -a -pc 0 "$OP_PID" >/dev/null # -a: every thread of node
  LOAD_PREFIX=(taskset -c 1)
}

echo "clients=$C seconds=$T ($(nproc) cores) durability=${BENCH_DURABILITY:-durable} ($(psql -X -At -c "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')")) pinned=$PINNED"
: >"$RESULTS"
if [ "$PINNED" != only ]; then
  run_pass unpinned
  if [[ " $PHASES " == *" refresh "* ]]; then sql_refresh unpinned; fi
fi
if [ "$PINNED" != off ]; then
  pin
  run_pass pinned
  if [ "$PINNED" = only ] && [[ " $PHASES " == *" refresh "* ]]; then sql_refresh pinned; fi
fi
(cd e2e && node bench/report.js tables "$RESULTS" "$C clients, ${BENCH_DURABILITY:-durable}")
