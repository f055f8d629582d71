#!/usr/bin/env bash
# The upstream sign-in tests (tests/sign_in.test.js, tests/upstreams.test.js) against a
# throwaway stack of their own: a cluster on PGPORT (55461) and oauth-front on FRONT_PORT
# (18061), started as scripts/test.sh starts its stack (scripts/stack.sh: --allow-private-fetch,
# --consent-page, --demo-login). The extension must be installed and FRONT_BIN built first:
#   cargo pgrx install --pg-config /usr/lib/postgresql/15/bin/pg_config && cargo build -p oauth-front
#   bash e2e/sign_in_stack.sh                       # both files
#   bash e2e/sign_in_stack.sh --test-name-pattern=apple tests/sign_in.test.js
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../scripts/stack.sh
source scripts/stack.sh
WORK=${SIGN_IN_TEST_DIR:-/tmp/oauth_server-signin}
FRONT_BIN=${FRONT_BIN:-$PWD/target/debug/oauth-front}
[ -x "$FRONT_BIN" ] || { echo "no oauth-front at $FRONT_BIN: cargo build -p oauth-front" >&2; exit 1; }
trap stack_down EXIT
stack_up "$WORK" "${PGPORT:-55461}" "${FRONT_PORT:-18061}" "$FRONT_BIN"
[ $# -gt 0 ] || set -- tests/sign_in.test.js tests/upstreams.test.js
status=0
(cd e2e && FRONT_BIN=$FRONT_BIN node --test --test-concurrency=1 "$@") || status=$?
if [ "$status" != 0 ]; then echo "--- front log (tail)"; tail -40 "$WORK/front.log"; fi
stack_no_server_errors || status=1
exit "$status"
