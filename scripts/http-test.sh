#!/usr/bin/env bash
# The HTTP suite (e2e/, node --test), or some of its files, against a stack of its own that it
# starts and stops: a throwaway cluster with the extension and oauth-front with the test stack's
# flags, as scripts/test.sh runs the suite (scripts/lib/stack.sh). The extension must be
# installed into the major (make install) and the front built (cargo build -p oauth-front):
# make http-test does both first.
#   scripts/http-test.sh                      every file of e2e/tests
#   scripts/http-test.sh front mcp            e2e/tests/front.test.js and mcp.test.js
#   HTTP_TEST_NAME=CORS scripts/http-test.sh front   only the tests whose name matches
# An argument with a slash (tests/, or any path under e2e/) or starting with - goes to node --test as it
# is. Then: no 5xx but 503 in the front's log, and no process of the run left.
# Environment: PG_MAJOR (scripts/lib.sh), OAUTH_TEST_DIR, OAUTH_TEST_PORT, OAUTH_TEST_FRONT_PORT,
# EXTRA_FRONT_PORT, DB_TLS_PGPORT (the plans in scripts/lib.sh), FRONT_BIN (default the debug
# build).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
FRONT=${FRONT_BIN:-$(front_bin debug)}
[ -x "$FRONT" ] || { echo "no oauth-front at $FRONT: cargo build -p oauth-front" >&2; exit 1; }
args=() files=0
[ -z "${HTTP_TEST_NAME:-}" ] || args+=("--test-name-pattern=$HTTP_TEST_NAME")
for a in "$@"; do
  case "$a" in -*) args+=("$a") ;; */*) args+=("$a"); files=1 ;; *) args+=("tests/$a.test.js"); files=1 ;; esac
done
[ $files = 1 ] || args+=(tests/)
run_mark
trap 'stack_down; kill_leftovers "$TEST_ROOT"' EXIT
stack_up "$TEST_ROOT" "${OAUTH_TEST_PORT:-$PLAN_TEST_PG}" "${OAUTH_TEST_FRONT_PORT:-$PLAN_TEST_FRONT}" "$FRONT" \
  "${TEST_STACK_FLAGS[@]}"
status=0
http_suite "${args[@]}" || status=$?
stack_no_server_errors || status=1
stack_down
no_leftovers "$TEST_ROOT" || status=1
exit "$status"
