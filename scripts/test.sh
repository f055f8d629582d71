#!/usr/bin/env bash
# The whole test suite on a fresh machine, on every supported PostgreSQL major:
#   1. prerequisites (idempotent: PostgreSQL 15, 17 and 18 among them), formatting and lints
#   2. unit tests of the protocol modules (plain cargo test, no Postgres)
#   then, for each major (15, 17, 18):
#   3. #[pg_test] tests inside a Postgres started by cargo-pgrx
#   4. the extension installed into that major; the upgrade test (every released version,
#      installed from its committed script, upgraded to this one); the docs' golden SQL
#      examples (tests/sql) and link check; the end-to-end suite (pgrx-tests/) against a
#      throwaway cluster, over libpq
#   5. on 15, the main major: oauth-front on that cluster, driven over HTTP by independent
#      client libraries (openid-client, the MCP SDK), raw fetch, headless Chromium through the
#      reference consent page, and a fault test; a primary and a hot standby: the read-only
#      routes answered by the standby, also with the primary stopped (scripts/replica-test.sh);
#      a pg_auto_failover formation whose primary is killed under load, then checked for lost or
#      doubled tokens (scripts/failover-test.sh; Debian's pg_auto_failover is 15's); then a short
#      schemathesis run and a short soak against the front.
#      On 17 and 18: a short HTTP run (e2e/tests/every_major.test.js: a complete flow with
#      openid-client, the ID token against the JWKS, refresh, introspection).
#   6. the same SQL surface on every major (the installed install scripts are identical); the
#      Debian packages built and tested on each major; pg_upgrade of a 15 cluster to 18.
# One switch picks the majors: PG_MAJOR=17 (or PG_CONFIG=…) runs that major's stages only;
# PG_MAJORS="15 18" a list; neither, all of them (what CI runs). make test PG=17 is the same.
set -euo pipefail
cd "$(dirname "$0")/.."
OAUTH_LIB_NO_SELECT=1 source scripts/lib.sh
# A PG_CONFIG given is used as it is (and must exist); a PG_MAJOR is installed by the
# prerequisites stage like the default majors.
CUSTOM_PG_CONFIG=${PG_CONFIG:-}
if [ -n "$CUSTOM_PG_CONFIG" ]; then
  pg_select
  MAJORS=$PG_MAJOR
elif [ -n "${PG_MAJOR:-}" ]; then
  MAJORS=$PG_MAJOR
else
  MAJORS=${PG_MAJORS:-$SUPPORTED_PG_MAJORS}
fi
for m in $MAJORS; do pg_config_for "$m" >/dev/null || exit 2; done
has_major() { [[ " $MAJORS " == *" $1 "* ]]; }
WORK=${OAUTH_TEST_DIR:-/tmp/oauth_server-test}
PORT=${OAUTH_TEST_PORT:-55431}
FRONT_PORT=${OAUTH_TEST_FRONT_PORT:-18080}
UPGRADE_DIR=${OAUTH_UPGRADE_DIR:-/tmp/oauth_server-upgrade}
CURRENT=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)

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
# Whatever is up when the run stops: the stack of the major under test, or its e2e cluster.
# A run that fails still prints the timings of the stages it went through.
cleanup() {
  local rc=$? failed=$STAGE
  stack_down || true
  [ -z "${MWORK:-}" ] || bash scripts/cluster.sh stop "$MWORK/cluster" 2>/dev/null || true
  if [ -n "$failed" ]; then report_timings; echo "stopped (exit $rc) in: $failed"; fi
}
trap cleanup EXIT

step "prerequisites (PostgreSQL $MAJORS)"
PG_MAJORS=$MAJORS bash scripts/install-prereqs.sh

step "cargo fmt --check and cargo clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

step "unit tests (no Postgres); oauth-front built"
cargo test -p oauth-core
cargo test -p oauth-front
# Built once: every major's HTTP stage runs this front (it speaks libpq to any of them).
cargo build -p oauth-front

for M in $MAJORS; do
  if [ -n "$CUSTOM_PG_CONFIG" ]; then PG_CONFIG=$CUSTOM_PG_CONFIG; pg_select; else pg_use "$M"; fi
  # The main major keeps the directories it always had; the others get their own under it.
  if [ "$M" = "$MAIN_PG_MAJOR" ]; then MWORK=$WORK; else MWORK=$WORK/pg$M; fi
  if [ "$M" = "$MAIN_PG_MAJOR" ]; then export OAUTH_UPGRADE_DIR=$UPGRADE_DIR; else export OAUTH_UPGRADE_DIR=$UPGRADE_DIR-pg$M; fi

  step "pg$M: #[pg_test] tests"
  rm -rf "$MWORK/pgrx-data" && mkdir -p "$MWORK" && chmod 777 "$WORK" "$MWORK"
  CARGO_PGRX_TEST_RUNAS=postgres CARGO_PGRX_TEST_PGDATA="$MWORK/pgrx-data" \
    cargo pgrx test "pg$M"

  step "pg$M: install the extension into PostgreSQL $M ($PG_CONFIG)"
  cargo pgrx install --pg-config "$PG_CONFIG"

  step "pg$M: versioned upgrades: every released version upgrades to this one, schema and data intact"
  bash scripts/upgrade-test.sh

  step "pg$M: golden SQL examples (tests/sql, the docs' examples)"
  OAUTH_TEST_DIR=$MWORK bash scripts/golden-test.sh

  step "pg$M: end-to-end tests against a real cluster"
  bash scripts/cluster.sh stop "$MWORK/cluster" 2>/dev/null || true
  rm -rf "$MWORK/cluster"
  bash scripts/cluster.sh start "$MWORK/cluster" "$PORT"
  OAUTH_TEST_PGHOST="$MWORK/cluster/sock" OAUTH_TEST_PGPORT="$PORT" \
    cargo test -p oauth_server_e2e -- --test-threads=4
  bash scripts/cluster.sh stop "$MWORK/cluster"

  if [ "$M" != "$MAIN_PG_MAJOR" ]; then
    step "pg$M: oauth-front over HTTP, short run: openid-client flow, JWKS, refresh, introspection"
    stack_up "$MWORK" "$PORT" "$FRONT_PORT" target/debug/oauth-front
    running=$(psql -X -At $PSQL_ARGS -c "SELECT current_setting('server_version_num')::int / 10000")
    [ "$running" = "$M" ] || { echo "the stack's cluster is PostgreSQL $running, not $M"; exit 1; }
    (cd e2e && FRONT_BIN="$PWD/../target/debug/oauth-front" node --test --test-concurrency=1 tests/every_major.test.js) \
      || { echo "--- front log (tail)"; tail -40 "$MWORK/front.log"; exit 1; }
    stack_no_server_errors
    stack_down; FRONT_PID="" STACK_DIR=""
    echo "pg$M: the rest of the HTTP suite, the hot-standby test and the failover test run on $MAIN_PG_MAJOR only (pg_auto_failover is Debian's package for $MAIN_PG_MAJOR)"
    continue
  fi

  step "pg$M: oauth-front over HTTP: openid-client, fetch, headless Chromium, faults"
  stack_up "$MWORK" "$PORT" "$FRONT_PORT" target/debug/oauth-front \
    --register-per-minute 40 --purge-interval 5 --client-auth-failures-per-minute 10000
  (cd e2e && FRONT_BIN="$PWD/../target/debug/oauth-front" \
    TLS_CERT="$MWORK/tls.crt" TLS_KEY="$MWORK/tls.key" \
    PG_RESTART_CMD="bash ../scripts/cluster.sh restart $MWORK/cluster" npm test) \
    || { echo "--- front log (tail)"; tail -40 "$MWORK/front.log"; exit 1; }

  step "pg$M: read-only routes on a hot standby (--replica-url): read-your-writes, and every read with the primary stopped"
  bash scripts/replica-test.sh target/debug/oauth-front

  step "pg$M: failover (pg_auto_failover, synchronous standby): the primary killed under load, nothing lost or doubled"
  bash scripts/failover-test.sh target/debug/oauth-front 15 6

  step "pg$M: HTTP fuzz of the front (schemathesis, short run; scripts/proof.sh runs the long one)"
  HTTP_FUZZ_EXAMPLES=30 bash scripts/http-fuzz.sh

  step "pg$M: soak (short run, failed requests judged; scripts/proof.sh runs the long one, which judges memory too)"
  SOAK_SECONDS=30 SOAK_CLIENTS=4 SOAK_JUDGE_MEMORY=0 bash scripts/soak.sh

  step "pg$M: no 5xx but 503 in the front's log"
  stack_no_server_errors
  stack_down; FRONT_PID="" STACK_DIR=""
done
unset OAUTH_UPGRADE_DIR

# The SQL surface does not depend on the major: the install script each major's build generated
# (pgrx's schema from the Rust code, plus sql/) is the same file. Only majors installed by this
# run are compared (another run's files may come from other sources).
read -r -a ran <<<"$MAJORS"
if ((${#ran[@]} > 1)); then
  step "the same SQL surface on PostgreSQL $MAJORS (oauth_server--$CURRENT.sql of each)"
  first=""
  for M in "${ran[@]}"; do
    f="$("$(pg_config_for "$M")" --sharedir)/extension/oauth_server--$CURRENT.sql"
    if [ -z "$first" ]; then first=$f; continue; fi
    diff -u "$first" "$f" || { echo "the install script of PostgreSQL $M differs from ${ran[0]}'s (above)"; exit 1; }
  done
  echo "identical: $(wc -l <"$first") lines on each of $MAJORS"
fi

step "Debian packages of PostgreSQL $MAJORS and oauth-front: built (scripts/package.sh), installed with dpkg on a clean cluster, removed (scripts/package-test.sh)"
PG_MAJORS=$MAJORS bash scripts/package.sh
PG_MAJORS=$MAJORS bash scripts/package-test.sh

if has_major 15 && has_major 18; then
  step "pg_upgrade of a 15 cluster with live tokens to 18 (scripts/pg-upgrade-test.sh)"
  bash scripts/pg-upgrade-test.sh
else
  echo "the pg_upgrade test (15 -> 18) needs both in the run (PostgreSQL $MAJORS): skipped"
fi
report_timings
