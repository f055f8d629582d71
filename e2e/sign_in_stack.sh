#!/usr/bin/env bash
# The upstream sign-in tests (tests/sign_in.test.js, tests/upstreams.test.js) against a
# throwaway stack of their own: a cluster on PGPORT (55461) and oauth-front on FRONT_PORT
# (18061), started as scripts/test.sh starts its stack (scripts/stack.sh: --allow-private-fetch,
# --consent-page, --demo-login), of PostgreSQL PG_MAJOR (scripts/lib.sh; default 15). The
# extension must be installed into that major and FRONT_BIN built first:
#   make install && cargo build -p oauth-front          (make install PG=17 for 17)
#   bash e2e/sign_in_stack.sh                       # both files
#   bash e2e/sign_in_stack.sh --test-name-pattern=apple tests/sign_in.test.js
#   bash e2e/sign_in_stack.sh tests/                # the whole HTTP suite, as test.sh runs it
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../scripts/stack.sh
source scripts/stack.sh
WORK=${SIGN_IN_TEST_DIR:-/tmp/oauth_server-signin}
FRONT_BIN=${FRONT_BIN:-$PWD/target/debug/oauth-front}
[ -x "$FRONT_BIN" ] || { echo "no oauth-front at $FRONT_BIN: cargo build -p oauth-front" >&2; exit 1; }
trap stack_down EXIT
# The flags and environment scripts/test.sh gives its stack, so that `tests/` runs here too.
stack_up "$WORK" "${PGPORT:-55461}" "${FRONT_PORT:-18061}" "$FRONT_BIN" \
  --register-per-minute 40 --purge-interval 5 --client-auth-failures-per-minute 10000
[ $# -gt 0 ] || set -- tests/sign_in.test.js tests/upstreams.test.js
status=0
(cd e2e && FRONT_BIN=$FRONT_BIN EXTRA_FRONT_PORT=${EXTRA_FRONT_PORT:-18262} DB_TLS_PGPORT=${DB_TLS_PGPORT:-55462} TLS_CERT="$WORK/tls.crt" TLS_KEY="$WORK/tls.key" \
  PG_RESTART_CMD="bash ../scripts/cluster.sh restart $WORK/cluster" \
  node --test --test-concurrency=1 "$@") || status=$?
if [ "$status" != 0 ]; then echo "--- front log (tail)"; tail -40 "$WORK/front.log"; fi
stack_no_server_errors || status=1
exit "$status"
