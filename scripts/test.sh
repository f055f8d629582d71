#!/usr/bin/env bash
# The whole test suite on a fresh machine:
#   1. prerequisites (idempotent), formatting and lints
#   2. unit tests of the protocol modules (plain cargo test, no Postgres)
#   3. #[pg_test] tests inside a Postgres started by cargo-pgrx
#   4. the extension installed into PostgreSQL 15; the upgrade test (every released version,
#      installed from its committed script, upgraded to this one); the docs' golden SQL
#      examples (tests/sql) and link check; the end-to-end suite
#      (pgrx-tests/) against a throwaway cluster, over libpq
#   5. oauth-front on that cluster, driven over HTTP by independent client libraries
#      (openid-client, the MCP SDK), raw fetch, headless Chromium through the reference consent
#      page, and a fault test; then a short schemathesis run and a short soak against it
#   6. a primary and a hot standby: the read-only routes answered by the standby, also with the
#      primary stopped (scripts/replica-test.sh); a pg_auto_failover formation whose primary is
#      killed under load, then checked for lost or doubled tokens (scripts/failover-test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
WORK=${OAUTH_TEST_DIR:-/tmp/oauth_server-test}
PORT=${OAUTH_TEST_PORT:-55431}

source scripts/stack.sh
# Each stage's wall time is printed when the next starts, and all of them at the end, so a run
# on a fresh machine says where its minutes went.
STAGE="" STAGE_START=$SECONDS TIMINGS=""
stage_done() {
  [ -n "$STAGE" ] && TIMINGS+=$(printf '%5ds  %s' $((SECONDS - STAGE_START)) "$STAGE")$'\n'
  STAGE_START=$SECONDS
}
step() { stage_done; STAGE="$*"; printf '\n\033[1m== %s\033[0m\n' "$*"; }
report_timings() { stage_done; STAGE=""; printf '\n== stage timings (total %ds)\n%s' "$SECONDS" "$TIMINGS"; }

step "prerequisites"
bash scripts/install-prereqs.sh

step "cargo fmt --check and cargo clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

step "unit tests (no Postgres)"
cargo test -p oauth-core
cargo test -p oauth-front

step "#[pg_test] tests"
rm -rf "$WORK/pgrx-data" && mkdir -p "$WORK" && chmod 777 "$WORK"
CARGO_PGRX_TEST_RUNAS=postgres CARGO_PGRX_TEST_PGDATA="$WORK/pgrx-data" \
  cargo pgrx test pg15

step "install the extension into PostgreSQL 15"
cargo pgrx install --pg-config "$PG_CONFIG"

step "versioned upgrades: every released version upgrades to this one, schema and data intact"
bash scripts/upgrade-test.sh

step "golden SQL examples (tests/sql, the docs' examples)"
bash scripts/golden-test.sh

step "end-to-end tests against a real cluster"
bash scripts/cluster.sh stop "$WORK/cluster" 2>/dev/null || true
rm -rf "$WORK/cluster"
bash scripts/cluster.sh start "$WORK/cluster" "$PORT"
trap 'bash scripts/cluster.sh stop "$WORK/cluster"' EXIT
OAUTH_TEST_PGHOST="$WORK/cluster/sock" OAUTH_TEST_PGPORT="$PORT" \
  cargo test -p oauth_server_e2e -- --test-threads=4

step "oauth-front over HTTP: openid-client, fetch, headless Chromium, faults"
cargo build -p oauth-front
bash scripts/cluster.sh stop "$WORK/cluster"
trap stack_down EXIT
stack_up "$WORK" "$PORT" "${OAUTH_TEST_FRONT_PORT:-18080}" target/debug/oauth-front \
  --register-per-minute 40 --purge-interval 5 --client-auth-failures-per-minute 10000
(cd e2e && FRONT_BIN="$PWD/../target/debug/oauth-front" \
  TLS_CERT="$WORK/tls.crt" TLS_KEY="$WORK/tls.key" \
  PG_RESTART_CMD="bash ../scripts/cluster.sh restart $WORK/cluster" npm test) \
  || { echo "--- front log (tail)"; tail -40 "$WORK/front.log"; exit 1; }

step "read-only routes on a hot standby (--replica-url): read-your-writes, and every read with the primary stopped"
bash scripts/replica-test.sh target/debug/oauth-front

step "failover (pg_auto_failover, synchronous standby): the primary killed under load, nothing lost or doubled"
bash scripts/failover-test.sh target/debug/oauth-front 15 6

step "HTTP fuzz of the front (schemathesis, short run; scripts/proof.sh runs the long one)"
HTTP_FUZZ_EXAMPLES=30 bash scripts/http-fuzz.sh

step "soak (short run, failed requests judged; scripts/proof.sh runs the long one, which judges memory too)"
SOAK_SECONDS=30 SOAK_CLIENTS=4 SOAK_JUDGE_MEMORY=0 bash scripts/soak.sh

step "no 5xx but 503 in the front's log"
stack_no_server_errors
report_timings
