#!/usr/bin/env bash
# The whole test suite on a fresh machine, on every supported PostgreSQL major:
#   1. prerequisites (idempotent: PostgreSQL 15, 17 and 18 among them)
#   2. lint, no Postgres: cargo fmt --check, cargo clippy -D warnings, and the checks that read
#      the repository's source and docs (cargo test -p repo-checks: the layering, the docs
#      against the code)
#   3. unit tests of oauth-core and oauth-front (plain cargo test, no Postgres); the front built
#   then, for each major (15, 17, 18):
#   4. #[pg_test] tests inside a Postgres started by cargo-pgrx
#   5. the extension installed into that major: its release build, staged by cargo pgrx package,
#      the files stage 8 packages (without building again); the upgrade test (every released
#      version, installed from its committed script, upgraded to this one); the docs' golden SQL
#      examples (tests/sql) and link check; the end-to-end suite (pgrx-tests/) against a
#      throwaway cluster, over libpq
#   6. on 15, the main major: oauth-front on that cluster, driven over HTTP by independent
#      client libraries (openid-client, the MCP SDK), raw fetch, headless Chromium through the
#      reference consent page, and a fault test; a primary and a hot standby: the read-only
#      routes answered by the standby, also with the primary stopped (scripts/replica-test.sh);
#      a pg_auto_failover formation whose primary is killed under load, then checked for lost or
#      doubled tokens (scripts/failover-test.sh; Debian's pg_auto_failover is 15's); then a short
#      schemathesis run and a short soak against the front (meanwhile the next major's #[pg_test]
#      build is made in the background: these stages run no cargo).
#      On 17 and 18: a short HTTP run (e2e/tests/every_major.test.js: a complete flow with
#      openid-client, the ID token against the JWKS, refresh, introspection). On 18 also the
#      database sign-in with our tokens (scripts/db-login-test.sh: the OAuth validator, psql 18's
#      device flow, every refusal).
#   7. the same SQL surface on every major (the installed install scripts are identical)
#   8. the Debian packages built and tested on each major; pg_upgrade of a 15 cluster to 18
#   9. no process of the run is left (postgres, pg_autoctl, oauth-front, node, Chromium)
# Each dependency is built once per cargo profile (docs/testing.md#what-is-built-once); the
# release builds (each major's extension, then oauth-front) are made from stage 2 on in the
# background at the lowest CPU priority, in a target directory of their own.
# One switch picks the majors: PG_MAJOR=17 (or PG_CONFIG=…) runs that major's stages only;
# PG_MAJORS="15 18" a list; neither, all of them (what CI runs). make test PG=17 is the same.
# OAUTH_BUILD_AHEAD=0 turns the background builds off.
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
WORK=$TEST_ROOT
PORT=${OAUTH_TEST_PORT:-$PLAN_TEST_PG}
FRONT_PORT=${OAUTH_TEST_FRONT_PORT:-$PLAN_TEST_FRONT}
FRONT=$(front_bin debug)
CURRENT=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
# Every directory the run's processes work in: the leftover check finds them by these (and by
# the run's mark in their environment).
RUN_DIRS=("$WORK")
for v in OAUTH_UPGRADE_DIR OAUTH_REPLICA_DIR OAUTH_FAILOVER_DIR OAUTH_PACKAGE_TEST_DIR OAUTH_PG_UPGRADE_DIR; do
  [ -z "${!v:-}" ] || RUN_DIRS+=("${!v}")
done
run_mark

# Each stage's wall time is printed when the next starts, and all of them at the end, so a run
# on a fresh machine says where its minutes went.
STAGE="" STAGE_START=$SECONDS TIMINGS=""
stage_done() {
  [ -n "$STAGE" ] && TIMINGS+=$(printf '%5ds  %s' $((SECONDS - STAGE_START)) "$STAGE")$'\n'
  STAGE_START=$SECONDS
}
step() { stage_done; STAGE="$*"; printf '\n\033[1m== %s\033[0m\n' "$*"; }
report_timings() { stage_done; STAGE=""; printf '\n== stage timings (total %ds)\n%s' "$SECONDS" "$TIMINGS"; }

# Builds made in the background at nice 19 (docs/testing.md#what-is-built-once), each in a
# session of its own, so that stopping it stops cargo and every compiler under it:
# - from the start, the release builds, in a target directory of their own
#   (OAUTH_RELEASE_TARGET_DIR): each major's extension, staged (its install stage installs it and
#   the packages hold it), then oauth-front's (its package). They take the CPU the dev builds
#   and the tests leave;
# - the next major's #[pg_test] build (the cargo test that cargo pgrx test runs), while this
#   major's stages run no cargo: the main major's HTTP stages (sockets and timers), another
#   major's stages after its #[pg_test] (its libpq suite runs the test program the main major's
#   stage built, without cargo, which the build holds). One at a time: each feature set's dev
#   build copies its library to the same target/debug/liboauth_server.so, which makes cargo
#   rebuild the one built before.
# Each is the cargo command the stage runs, so the stage finds it built.
# OAUTH_BUILD_AHEAD=0 builds everything in the stages, in the foreground.
RELEASE_TARGET=${OAUTH_RELEASE_TARGET_DIR:-$CARGO_TARGET/release-builds}
export OAUTH_RELEASE_TARGET_DIR=$RELEASE_TARGET
READY=$WORK/release-builds
RELEASE_PID="" DEV_AHEAD_PID="" E2E_BIN=""
release_builds_start() {
  [ "${OAUTH_BUILD_AHEAD:-1}" = 1 ] || return 0
  rm -rf "$READY" && mkdir -p "$READY"
  setsid nice -n 19 bash -c '
    set -e
    OAUTH_LIB_NO_SELECT=1 source scripts/lib.sh
    ready=$1 custom=$2
    shift 2
    for m in "$@"; do extension_stage "$m" "$custom"; touch "$ready/pg$m"; done
    cargo_release build --release -p oauth-front
    touch "$ready/front"
  ' _ "$READY" "$CUSTOM_PG_CONFIG" $MAJORS >"$WORK/release-builds.log" 2>&1 &
  RELEASE_PID=$!
  echo "building the release builds in the background (nice 19, $WORK/release-builds.log)"
}
# Waits for the background release build of $1 (pgNN or front); without background builds,
# makes it.
release_ready() {
  if [ -z "$RELEASE_PID" ]; then
    case "$1" in front) cargo_release build --release -p oauth-front ;; pg*) extension_stage "${1#pg}" "$PG_CONFIG" ;; esac
    return
  fi
  while [ ! -e "$READY/$1" ]; do
    kill -0 "$RELEASE_PID" 2>/dev/null || [ -e "$READY/$1" ] \
      || { echo "the background release builds stopped before $1:"; tail -40 "$WORK/release-builds.log"; return 1; }
    sleep 1
  done
}
# The major after $1 in this run's list, if any.
next_major() {
  local m prev=""
  for m in $MAJORS; do
    [ "$prev" != "$1" ] || { echo "$m"; return; }
    prev=$m
  done
}
# Starts the #[pg_test] build of major $1 (none when empty, or one is running).
dev_ahead_start() {
  local m=$1
  [ "${OAUTH_BUILD_AHEAD:-1}" = 1 ] && [ -n "$m" ] && [ -z "$DEV_AHEAD_PID" ] || return 0
  setsid nice -n 19 cargo test --no-run --no-default-features --features "pg$m pg_test" >"$WORK/dev-ahead.log" 2>&1 &
  DEV_AHEAD_PID=$!
  echo "building pg$m's #[pg_test] build in the background (nice 19, $WORK/dev-ahead.log)"
}
dev_ahead_wait() {
  [ -n "$DEV_AHEAD_PID" ] || return 0
  local pid=$DEV_AHEAD_PID
  DEV_AHEAD_PID=""
  wait "$pid" || { echo "the background #[pg_test] build failed:"; tail -40 "$WORK/dev-ahead.log"; return 1; }
}

# Throwaway directories are deleted in the background: the cluster the libpq suite filled (2.6 GB
# in 77,000 files on 18: a database per test) took 86 s to delete on this machine, whose disk is
# mounted with discard (every delete trimmed on the spot), in the way of the next stage. trash
# renames them aside at once; trash_wait, at the end, waits for the deleting.
TRASH=$WORK/.trash TRASH_PID=""
trash() {
  local d
  mkdir -p "$TRASH"
  for d in "$@"; do [ ! -e "$d" ] || mv "$d" "$(mktemp -u "$TRASH/$(basename "$d").XXXXXX")"; done
  if [ -z "$TRASH_PID" ] || ! kill -0 "$TRASH_PID" 2>/dev/null; then
    (while [ -n "$(ls -A "$TRASH")" ]; do rm -rf "${TRASH:?}"/*; done) &
    TRASH_PID=$!
  fi
}
trash_wait() {
  [ -z "$TRASH_PID" ] || wait "$TRASH_PID" || true
  TRASH_PID=""
  rm -rf "$TRASH"
}

# Whatever is up when the run stops: the background builds, the stack of the major under test,
# or its e2e cluster; then nothing of the run may be left. A run that fails still prints the
# timings of the stages it went through.
cleanup() {
  local rc=$? failed=$STAGE pid
  for pid in $RELEASE_PID $DEV_AHEAD_PID; do kill -- "-$pid" 2>/dev/null || true; done
  # What is still to delete stays for the next run to delete.
  [ -z "$TRASH_PID" ] || kill "$TRASH_PID" 2>/dev/null || true
  stack_down || true
  [ -z "${MWORK:-}" ] || bash scripts/cluster.sh stop "$MWORK/cluster" 2>/dev/null || true
  if ! no_leftovers "${RUN_DIRS[@]}"; then
    kill_leftovers "${RUN_DIRS[@]}"
    [ "$rc" != 0 ] || rc=1
  fi
  if [ -n "$failed" ]; then report_timings; echo "stopped (exit $rc) in: $failed"; fi
  exit "$rc"
}
trap cleanup EXIT

step "prerequisites (PostgreSQL $MAJORS)"
PG_MAJORS=$MAJORS bash scripts/install-prereqs.sh
release_builds_start
[ ! -d "$TRASH" ] || trash

step "lint: cargo fmt --check, cargo clippy, the repository checks (cargo test -p repo-checks)"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test -p repo-checks

step "unit tests (no Postgres); oauth-front built"
cargo test "${UNIT_CRATES[@]}"
# Built once: every major's HTTP stage runs this front (it speaks libpq to any of them). cargo
# test has built it already, beside the unit tests (front/tests/binary.rs needs it), with the
# same features: this finds it fresh.
cargo build -p oauth-front

for M in $MAJORS; do
  if [ -n "$CUSTOM_PG_CONFIG" ]; then PG_CONFIG=$CUSTOM_PG_CONFIG; pg_select; else pg_use "$M"; fi
  # The main major keeps the directories it always had; the others get their own under it.
  if [ "$M" = "$MAIN_PG_MAJOR" ]; then MWORK=$WORK; else MWORK=$WORK/pg$M; fi
  if [ -n "${OAUTH_UPGRADE_DIR:-}" ]; then
    if [ "$M" = "$MAIN_PG_MAJOR" ]; then UPGRADE_DIR=$OAUTH_UPGRADE_DIR; else UPGRADE_DIR=$OAUTH_UPGRADE_DIR-pg$M; fi
  else
    UPGRADE_DIR=$MWORK/upgrade
  fi
  mkdir -p "$MWORK" && chmod 777 "$WORK" "$MWORK"

  dev_ahead_wait
  step "pg$M: #[pg_test] tests"
  pg_test_run "$MWORK"

  # Another major's later stages run no cargo once the libpq suite's program is built.
  [ "$M" = "$MAIN_PG_MAJOR" ] || [ -z "$E2E_BIN" ] || dev_ahead_start "$(next_major "$M")"

  step "pg$M: install the extension into PostgreSQL $M ($PG_CONFIG): the release build, staged as packaged"
  release_ready "pg$M"
  extension_install_staged "$M" "$PG_CONFIG"

  step "pg$M: versioned upgrades: every released version upgrades to this one, schema and data intact"
  OAUTH_UPGRADE_DIR=$UPGRADE_DIR bash scripts/upgrade-test.sh

  step "pg$M: golden SQL examples (tests/sql, the docs' examples)"
  OAUTH_TEST_DIR=$MWORK bash scripts/golden-test.sh

  step "pg$M: end-to-end tests against a real cluster"
  bash scripts/cluster.sh stop "$MWORK/cluster" 2>/dev/null || true
  trash "$MWORK/cluster"
  bash scripts/cluster.sh start "$MWORK/cluster" "$PORT"
  if [ -n "$E2E_BIN" ]; then
    # Without cargo, which the next major's background build may hold: the same program.
    (cd pgrx-tests && OAUTH_TEST_PGHOST="$MWORK/cluster/sock" OAUTH_TEST_PGPORT="$PORT" \
      "$E2E_BIN" --test-threads=4)
  else
    OAUTH_TEST_PGHOST="$MWORK/cluster/sock" OAUTH_TEST_PGPORT="$PORT" e2e_run
    E2E_BIN=$(e2e_binary)
  fi
  bash scripts/cluster.sh stop "$MWORK/cluster"
  trash "$MWORK/cluster"
  dev_ahead_start "$(next_major "$M")"

  if [ "$M" != "$MAIN_PG_MAJOR" ]; then
    step "pg$M: oauth-front over HTTP, short run: openid-client flow, JWKS, refresh, introspection"
    stack_up "$MWORK" "$PORT" "$FRONT_PORT" "$FRONT"
    running=$(psql -X -At $PSQL_ARGS -c "SELECT current_setting('server_version_num')::int / 10000")
    [ "$running" = "$M" ] || { echo "the stack's cluster is PostgreSQL $running, not $M"; exit 1; }
    http_suite tests/every_major.test.js
    stack_no_server_errors
    stack_down
    if [ "$M" = 18 ]; then
      step "pg18: sign in to the database with this server's tokens (the OAuth validator: psql's device flow, every refusal; scripts/db-login-test.sh)"
      DB_LOGIN_DIR=$MWORK/db-login FRONT_BIN=$FRONT bash scripts/db-login-test.sh
    fi
    echo "pg$M: the rest of the HTTP suite, the hot-standby test and the failover test run on $MAIN_PG_MAJOR only (pg_auto_failover is Debian's package for $MAIN_PG_MAJOR)"
    continue
  fi

  step "pg$M: oauth-front over HTTP: openid-client, fetch, headless Chromium, faults"
  stack_up "$MWORK" "$PORT" "$FRONT_PORT" "$FRONT" "${TEST_STACK_FLAGS[@]}"
  http_suite

  step "pg$M: read-only routes on a hot standby (--replica-url): read-your-writes, and every read with the primary stopped"
  OAUTH_REPLICA_DIR=${OAUTH_REPLICA_DIR:-$MWORK/replica} bash scripts/replica-test.sh "$FRONT"

  step "pg$M: failover (pg_auto_failover, synchronous standby): the primary killed under load, nothing lost or doubled"
  OAUTH_FAILOVER_DIR=${OAUTH_FAILOVER_DIR:-$MWORK/failover} bash scripts/failover-test.sh "$FRONT" 15 6

  step "pg$M: HTTP fuzz of the front (schemathesis, short run; scripts/proof.sh runs the long one)"
  HTTP_FUZZ_EXAMPLES=30 bash scripts/http-fuzz.sh

  step "pg$M: soak (short run, failed requests judged; scripts/proof.sh runs the long one, which judges memory too)"
  SOAK_SECONDS=30 SOAK_CLIENTS=4 SOAK_JUDGE_MEMORY=0 bash scripts/soak.sh

  step "pg$M: no 5xx but 503 in the front's log"
  stack_no_server_errors
  stack_down
done

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

step "Debian packages of PostgreSQL $MAJORS and oauth-front: built (scripts/package.sh, from the release builds the install stages made), installed with dpkg on a clean cluster, removed (scripts/package-test.sh)"
release_ready front
if [ -n "$RELEASE_PID" ]; then
  wait "$RELEASE_PID" || { echo "the background release builds failed:"; tail -40 "$WORK/release-builds.log"; exit 1; }
  RELEASE_PID=""
fi
PG_MAJORS=$MAJORS PACKAGE_STAGED=1 bash scripts/package.sh
PG_MAJORS=$MAJORS OAUTH_PACKAGE_TEST_DIR=${OAUTH_PACKAGE_TEST_DIR:-$WORK/package} bash scripts/package-test.sh

if has_major 15 && has_major 18; then
  step "pg_upgrade of a 15 cluster with live tokens to 18 (scripts/pg-upgrade-test.sh)"
  OAUTH_PG_UPGRADE_DIR=${OAUTH_PG_UPGRADE_DIR:-$WORK/pg-upgrade} bash scripts/pg-upgrade-test.sh
else
  echo "the pg_upgrade test (15 -> 18) needs both in the run (PostgreSQL $MAJORS): skipped"
fi

step "no process of this run left (postgres, pg_autoctl, oauth-front, node, Chromium under ${RUN_DIRS[*]} or with its mark); its throwaway directories deleted"
trash_wait
no_leftovers "${RUN_DIRS[@]}"
report_timings
