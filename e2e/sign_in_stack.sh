#!/usr/bin/env bash
# The upstream sign-in tests (tests/sign_in.test.js, tests/upstreams.test.js), or any files of
# the HTTP suite, on a stack of their own beside test.sh's: scripts/http-test.sh with this
# script's directory and ports (the port plan in scripts/lib.sh: a cluster on SIGN_IN_PORT,
# oauth-front on SIGN_IN_FRONT_PORT, the fronts its tests start from SIGN_IN_EXTRA_FRONT_PORT,
# the TLS-only cluster on SIGN_IN_DB_TLS_PGPORT), of PostgreSQL PG_MAJOR (default 15). The
# extension must be installed into that major and the front built first:
#   make install && cargo build -p oauth-front          (make install PG=17 for 17)
#   bash e2e/sign_in_stack.sh                       # both files
#   bash e2e/sign_in_stack.sh --test-name-pattern=apple sign_in
#   bash e2e/sign_in_stack.sh tests/                # the whole HTTP suite, as test.sh runs it
set -euo pipefail
cd "$(dirname "$0")/.."
OAUTH_LIB_NO_SELECT=1 source scripts/lib.sh
[ $# -gt 0 ] || set -- sign_in upstreams
OAUTH_TEST_DIR=${SIGN_IN_TEST_DIR:-/tmp/oauth_server-signin} \
  OAUTH_TEST_PORT=${SIGN_IN_PORT:-$PLAN_SIGN_IN_PG} OAUTH_TEST_FRONT_PORT=${SIGN_IN_FRONT_PORT:-$PLAN_SIGN_IN_FRONT} \
  EXTRA_FRONT_PORT=${SIGN_IN_EXTRA_FRONT_PORT:-$PLAN_SIGN_IN_EXTRA} DB_TLS_PGPORT=${SIGN_IN_DB_TLS_PGPORT:-$PLAN_SIGN_IN_DB_TLS} \
  exec bash scripts/http-test.sh "$@"
