# The scripts' library: every script and the Makefile source this file, and only this file.
#   source scripts/lib.sh                          (from the repository root, as the scripts run)
# It holds, once each: which PostgreSQL the scripts run against (PG_MAJOR, PG_CONFIG, PGBIN),
# how they run its programs (as_pg, pg_tool), the port plan and the directory plan, the flags of
# the test stack's oauth-front, where cargo's builds are (CARGO_TARGET), and two helpers it sources
# from scripts/lib/: the HTTP test stack (stack.sh: stack_up, stack_down, http_suite, …) and the
# check that a run left no process behind (leftovers.sh).
#
# PG_MAJOR (15, 17 or 18; default 15) picks the server; PG_CONFIG, if set, names it directly
# (and PG_MAJOR is read from it); so does PGBIN given alone. Sourcing sets and exports PG_MAJOR
# and PG_CONFIG, sets PGBIN, and stops the script if that server is not installed.
# OAUTH_LIB_NO_SELECT=1 source scripts/lib.sh only defines the rest (install-prereqs.sh, which
# installs the servers; test.sh, which selects each major in turn). Where each major comes from
# on these machines (docs/testing.md#postgresql-majors):
#   15  Debian 12's packages (/usr/lib/postgresql/15)
#   17  scripts/postgres/postgresql-17.sh into $OAUTH_PG_PREFIX/pg17
#   18  scripts/postgres/postgresql-18.sh into $OAUTH_PG_PREFIX/pg18
# The prefixes are outside /root because the servers run as user postgres.
# shellcheck disable=SC2034 # the constants are for the scripts that source this file

OAUTH_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OAUTH_REPO=$(dirname "$OAUTH_LIB_DIR")
OAUTH_PG_PREFIX=${OAUTH_PG_PREFIX:-/opt/oauth_server}
export OAUTH_PG_PREFIX
SUPPORTED_PG_MAJORS="15 17 18"
# The major that runs the whole HTTP suite and the tests that need Debian's packages of it
# (pg_auto_failover's failover test, the hot-standby test); the others run a short HTTP run.
MAIN_PG_MAJOR=15

# Where cargo builds: CARGO_TARGET_DIR when set (.ci/run keeps one outside the clone, so a
# clean clone on a warm machine rebuilds only what changed), else the repository's target/.
CARGO_TARGET=${CARGO_TARGET_DIR:-$OAUTH_REPO/target}
# Where the release builds go: OAUTH_RELEASE_TARGET_DIR when set, else the same. test.sh gives
# them a target directory of their own, so that they build in the background beside the dev
# builds and the tests (one cargo at a time may use a target directory, and the two profiles
# share no build: nothing is built twice for it).
RELEASE_TARGET=${OAUTH_RELEASE_TARGET_DIR:-$CARGO_TARGET}
# Without SOURCE_DATE_EPOCH, which package.sh sets for the packages' file dates: the C build
# scripts (ring's, aws-lc's, pgrx-pg-sys's) rerun when it changes, and it is the last commit's
# date, new with each commit, so the same build made in the background (test.sh) and by
# package.sh would differ.
cargo_release() { env -u SOURCE_DATE_EPOCH CARGO_TARGET_DIR="$RELEASE_TARGET" cargo "$@"; }
# The front's binary of a cargo profile: debug (the tests) or release (packages, benchmarks).
front_bin() {
  if [ "$1" = release ]; then echo "$RELEASE_TARGET/release/oauth-front"; else echo "$CARGO_TARGET/$1/oauth-front"; fi
}

# --- The port plan ------------------------------------------------------------------------------
# Every port a script listens on by default, in one place; each script reads the variable named
# beside it first. No two scripts that one test command runs (scripts/test.sh, or a make target
# that runs a part of it) share a port, nor do they share one with what a developer keeps up
# beside them (the dev cluster, the demo, the benchmarks), so any of them can run while another
# is up. The HTTP suite itself also listens on EXTRA_FRONT_PORT and the ports after it (the
# fronts its tests start), on 18191 (front.test.js) and on DB_TLS_PGPORT (db_tls.test.js).
# cargo pgrx test picks its own port (28800 + the major).
#   constant               default  variable                   who
PLAN_TEST_PG=55431       # OAUTH_TEST_PORT            test.sh's clusters: libpq suite, HTTP stack (http-test.sh)
PLAN_TEST_FRONT=18080    # OAUTH_TEST_FRONT_PORT      the HTTP stack's oauth-front
PLAN_TEST_EXTRA=18192    # EXTRA_FRONT_PORT           the fronts the HTTP suite starts (and up)
PLAN_TEST_DB_TLS=55472   # DB_TLS_PGPORT              the HTTP suite's TLS-only cluster
PLAN_DEMO_PG=55432       # OAUTH_DEMO_PORT            run-local.sh's cluster
PLAN_DEMO_HTTP=8080      # OAUTH_DEMO_HTTP_PORT       run-local.sh's front
PLAN_BENCH_PG=55433      # OAUTH_BENCH_PORT           bench.sh
PLAN_BENCH_HTTP_PG=55434 # OAUTH_BENCH_PORT           bench-http.sh's cluster,
PLAN_BENCH_HTTP_FRONT=18090 # OAUTH_BENCH_FRONT_PORT  its front
PLAN_BENCH_HTTP_OP=18091 # OAUTH_BENCH_OP_PORT        and oidc-provider
PLAN_HTTP_FUZZ_PG=55435  # (http-fuzz.sh on a stack of its own; in test.sh it fuzzes test.sh's)
PLAN_HTTP_FUZZ_FRONT=18095
PLAN_SOAK_PG=55436       # (soak.sh on a stack of its own; in test.sh it soaks test.sh's)
PLAN_SOAK_FRONT=18096
PLAN_PROOF_PG=55437      # (proof.sh)
PLAN_PROOF_FRONT=18097
PLAN_UPGRADE_PG=55438    # OAUTH_UPGRADE_PORT         upgrade-test.sh
PLAN_GOLDEN_PG=55439     # OAUTH_GOLDEN_PORT          golden-test.sh
PLAN_DEV_PG=55440        # DEV_PORT                   make db-up (the dev cluster)
PLAN_PG_UPGRADE_PG=55442 # OAUTH_PG_UPGRADE_PORT      pg-upgrade-test.sh: the old cluster, the new one on +1
PLAN_PACKAGE_PG=55446    # OAUTH_PACKAGE_TEST_PORT    package-test.sh: the cluster, the front on +1
PLAN_REPLICA_PG=55451    # OAUTH_REPLICA_PORT         replica-test.sh: the primary, the standby on +1
PLAN_REPLICA_FRONT=18451 # OAUTH_REPLICA_FRONT_PORT   its fronts (+0, +1, +2)
PLAN_FAILOVER_PG=55461   # OAUTH_FAILOVER_PORT        failover-test.sh: the monitor, the nodes on +1, +2
PLAN_FAILOVER_FRONT=18461 # OAUTH_FAILOVER_FRONT_PORT its front
PLAN_SIGN_IN_PG=55465    # SIGN_IN_PORT               e2e/sign_in_stack.sh: its cluster,
PLAN_SIGN_IN_FRONT=18065 # SIGN_IN_FRONT_PORT         its front,
PLAN_SIGN_IN_EXTRA=18262 # SIGN_IN_EXTRA_FRONT_PORT   the fronts its tests start (and up),
PLAN_SIGN_IN_DB_TLS=55466 # SIGN_IN_DB_TLS_PGPORT     its TLS-only cluster
PLAN_DB_LOGIN_PG=55475    # DB_LOGIN_PORT              db-login-test.sh: its PostgreSQL 18 cluster,
PLAN_DB_LOGIN_FRONT=18475 # DB_LOGIN_FRONT_PORT        its front
PLAN_BENCH_REPLICAS_PG=55481 # (bench-replicas.sh: the primary, the standbys on +1, +2)
PLAN_BENCH_REPLICAS_FRONT=18481

# --- The directory plan -------------------------------------------------------------------------
# Every directory test.sh's stages make lives under one root (OAUTH_TEST_DIR): the leftover check
# finds the run's processes by it. Each is movable by its variable.
TEST_ROOT=${OAUTH_TEST_DIR:-/tmp/oauth_server-test}
#   $TEST_ROOT/cluster, tls.*, front.log   the libpq suite's and the HTTP stack's cluster and front
#   $TEST_ROOT/pgrx-data                   cargo pgrx test's cluster
#   $TEST_ROOT/golden                      golden-test.sh            (always under OAUTH_TEST_DIR)
#   $TEST_ROOT/upgrade                     upgrade-test.sh           OAUTH_UPGRADE_DIR
#   $TEST_ROOT/replica                     replica-test.sh           OAUTH_REPLICA_DIR
#   $TEST_ROOT/failover                    failover-test.sh          OAUTH_FAILOVER_DIR
#   $TEST_ROOT/package                     package-test.sh           OAUTH_PACKAGE_TEST_DIR
#   $TEST_ROOT/pg-upgrade                  pg-upgrade-test.sh        OAUTH_PG_UPGRADE_DIR
#   $TEST_ROOT/pg17, pg18                  test.sh's other majors (the same layout inside)

# --- The test stack's oauth-front ---------------------------------------------------------------
# The flags test.sh, make http-test and e2e/sign_in_stack.sh give the HTTP suite's front (beyond
# stack_up's own): registration limited low enough for the rate-limit test to reach it, expired
# rows purged every 5 s for the purge test, and a client-authentication failure budget the suite
# (which fails authentication on purpose, from one address) never exhausts.
TEST_STACK_FLAGS=(--register-per-minute 40 --purge-interval 5 --client-auth-failures-per-minute 10000)

# --- PostgreSQL ---------------------------------------------------------------------------------
# The pg_config of major $1.
pg_config_for() {
  case "$1" in
    15) echo /usr/lib/postgresql/15/bin/pg_config ;;
    17 | 18) echo "$OAUTH_PG_PREFIX/pg$1/bin/pg_config" ;;
    *) echo "PostgreSQL $1 is not supported: PG_MAJOR is one of $SUPPORTED_PG_MAJORS" >&2; return 2 ;;
  esac
}

# The major of a pg_config.
pg_major_of() { "$1" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p'; }

# Selects the server from PG_CONFIG, PGBIN or PG_MAJOR (in that order) and checks it is there.
pg_select() {
  # A PGBIN given alone (PGBIN=/opt/oauth_server/pg18/bin bash scripts/cluster.sh …) names the
  # server by its bin directory: every build here has a pg_config there.
  if [ -z "${PG_CONFIG:-}" ] && [ -n "${PGBIN:-}" ] && [ -x "$PGBIN/pg_config" ]; then
    PG_CONFIG=$PGBIN/pg_config
  fi
  if [ -n "${PG_CONFIG:-}" ]; then
    [ -x "$PG_CONFIG" ] || { echo "PG_CONFIG=$PG_CONFIG: no such program" >&2; return 2; }
    PG_MAJOR=$(pg_major_of "$PG_CONFIG")
  else
    PG_MAJOR=${PG_MAJOR:-15}
    PG_CONFIG=$(pg_config_for "$PG_MAJOR") || return 2
  fi
  export PG_MAJOR PG_CONFIG
  if [ ! -x "$PG_CONFIG" ]; then
    echo "no PostgreSQL $PG_MAJOR at $PG_CONFIG: PG_MAJORS=$PG_MAJOR bash scripts/install-prereqs.sh installs it" >&2
    return 2
  fi
  PGBIN=$("$PG_CONFIG" --bindir)
}

# Switches to major $1 (test.sh, which runs several in turn).
pg_use() {
  unset PG_CONFIG PGBIN
  PG_MAJOR=$1
  pg_select
}

# A client program (pg_dump, pg_basebackup, pgbench, …) for this server: its own, or, where the
# server's build ships none (17 is a server-only build), the newest major's, which reads every
# older server.
pg_tool() {
  if [ -x "$PGBIN/$1" ]; then echo "$PGBIN/$1"; else echo "$OAUTH_PG_PREFIX/pg18/bin/$1"; fi
}

# Postgres refuses to run as root: as root, run its programs as user postgres (runuser, or sudo
# where there is none). Variables a program needs go explicitly: `as_pg env NAME=value … program`
# (sudo resets the environment).
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
  else
    "$@"
  fi
}

# The cargo flags that build the extension for this major (cargo pgrx install --pg-config and
# cargo pgrx test pgNN choose the same by themselves).
pg_features() {
  if [ "$PG_MAJOR" = 15 ]; then echo ""; else echo "--no-default-features --features pg$PG_MAJOR"; fi
}

# --- Builds shared by the stages ----------------------------------------------------------------
# Cargo resolves the features of the dependencies anew for every set of packages it is asked to
# build, and builds again whatever resolves differently: these are the sets every build uses, so
# that each dependency builds once per profile (docs/testing.md#what-is-built-once).
#   the unit tests: oauth-core and oauth-front together (oauth-core alone resolves fewer
#   features of its dependencies); the libpq suite: with oauth-front beside it, `--test e2e`
#   selecting the suite's one test program.
UNIT_CRATES=(-p oauth-core -p oauth-front)
E2E_CRATES=(-p oauth-front -p oauth_server_e2e)

# The libpq suite (pgrx-tests/tests/e2e: one test program, a module per file) against the cluster
# OAUTH_TEST_PGHOST/PGPORT name. FILE (a file of it, without .rs) and NAME (any part of a test's
# name) pick tests, both at once too; neither, all of them.
e2e_run() {
  local file=${1:-} name=${2:-} picked
  if [ -z "$file$name" ]; then
    cargo test "${E2E_CRATES[@]}" --test e2e -- --test-threads=4
    return
  fi
  picked=$(cargo test -q "${E2E_CRATES[@]}" --test e2e -- --list --format terse | sed -n 's/: test$//p' \
    | grep "^${file:-[a-z_0-9]*}::" | grep -F -- "$name") \
    || { echo "no test of pgrx-tests/tests/e2e matches TEST=$file NAME=$name"; return 1; }
  # shellcheck disable=SC2086 # one argument per test name
  cargo test "${E2E_CRATES[@]}" --test e2e -- --test-threads=4 --exact $picked
}
# The path of the suite's test program, as e2e_run built it (run it in pgrx-tests/, as cargo
# does).
e2e_binary() {
  cargo test "${E2E_CRATES[@]}" --test e2e --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("executable") and m["target"]["name"] == "e2e":
        print(m["executable"])'
}

# cargo pgrx test for this major (DIR holds its cluster; NAME, if given, filters the tests).
# The extension that the tests install (cargo pgrx install --test, which pgrx-tests runs: cargo
# build --lib) is built with `--tests` added (PGRX_BUILD_FLAGS), so that cargo resolves the
# features as cargo test did and finds the library cargo test has just built, instead of building
# it and its dependencies a second time with the dev-dependencies' features left out (pgrx-tests
# turns on serde_json's unbounded_depth through clap-cargo; the build that is installed for the
# other suites and packaged, release, has it off). cargo-pgrx takes the first library artifact
# of that build, which cargo lists first when it is up to date (as cargo test leaves it); when
# something rebuilt it in between (a source edited meanwhile, or another feature set's build
# writing target/debug/liboauth_server.so), the install fails with "Could not get shared object
# file": run it again, or set PGRX_BUILD_FLAGS= to build the second copy instead.
pg_test_run() {
  local dir=$1 name=${2:-}
  rm -rf "$dir/pgrx-data" && mkdir -p "$dir" && chmod 777 "$dir"
  CARGO_PGRX_TEST_RUNAS=postgres CARGO_PGRX_TEST_PGDATA="$dir/pgrx-data" PGRX_BUILD_FLAGS=${PGRX_BUILD_FLAGS---tests} \
    cargo pgrx test "pg$PG_MAJOR" ${name:+"$name"}
}

# The extension's release build for major $1 (of pg_config $2, default that major's), staged by
# cargo pgrx package in
# $RELEASE_TARGET/extension-stage/pgNN (its files under the directories of that major's
# pg_config): test.sh installs it (extension_install_staged) for every suite after #[pg_test],
# and package.sh packages it (PACKAGE_STAGED=1), so the packages hold the files the suites
# tested, built once. (Each feature set's build copies its library to the same
# target/release/liboauth_server.so, which makes cargo rebuild another major's when asked
# again: building each major once, into a directory of its own, is what keeps it built.)
extension_stage_dir() { echo "$RELEASE_TARGET/extension-stage/pg$1"; }
extension_stage() {
  local stage
  stage=$(extension_stage_dir "$1")
  rm -rf "$stage"
  # shellcheck disable=SC2046 # the features are separate words
  PG_MAJOR=$1 cargo_release pgrx package --pg-config "${2:-$(pg_config_for "$1")}" --out-dir "$stage" \
    $(PG_MAJOR=$1 pg_features)
}
# Installs the staged build of major $1 into that server's (pg_config $2, default that
# major's) directories, as cargo pgrx install
# does (install(1) replaces the library rather than writing into it: running backends keep the
# copy they mapped).
extension_install_staged() {
  local cfg stage lib ext
  cfg=${2:-$(pg_config_for "$1")} stage=$(extension_stage_dir "$1")
  lib=$("$cfg" --pkglibdir) ext=$("$cfg" --sharedir)/extension
  [ -f "$stage$lib/oauth_server.so" ] || { echo "no staged build of PostgreSQL $1 in $stage" >&2; return 1; }
  install -m 755 "$stage$lib/oauth_server.so" "$lib/oauth_server.so"
  install -m 644 "$stage$ext"/oauth_server* "$ext/"
  echo "installed $stage into $lib and $ext"
}

if [ "${OAUTH_LIB_NO_SELECT:-0}" != 1 ]; then
  pg_select || { return 2 2>/dev/null || exit 2; }
fi
# shellcheck source=scripts/lib/stack.sh
source "$OAUTH_LIB_DIR/lib/stack.sh"
# shellcheck source=scripts/lib/leftovers.sh
source "$OAUTH_LIB_DIR/lib/leftovers.sh"
