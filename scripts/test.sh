#!/usr/bin/env bash
# The whole test suite on a fresh machine:
#   1. prerequisites (idempotent), formatting and lints
#   2. unit tests of the protocol modules (plain cargo test, no Postgres)
#   3. #[pg_test] tests inside a Postgres started by cargo-pgrx
#   4. the extension installed into PostgreSQL 15 and the end-to-end suite (pgrx-tests/)
#      against a throwaway cluster, over libpq
#   5. oauth-front on that cluster, driven over HTTP by independent client libraries
#      (openid-client), raw fetch, and headless Chromium through the reference consent page
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
WORK=${OAUTH_TEST_DIR:-/tmp/oauth_server-test}
PORT=${OAUTH_TEST_PORT:-55431}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "prerequisites"
bash scripts/install-prereqs.sh

step "cargo fmt --check and cargo clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

step "unit tests (no Postgres)"
cargo test --lib -- protocol:: error::
cargo test -p oauth-front

step "#[pg_test] tests"
rm -rf "$WORK/pgrx-data" && mkdir -p "$WORK" && chmod 777 "$WORK"
CARGO_PGRX_TEST_RUNAS=postgres CARGO_PGRX_TEST_PGDATA="$WORK/pgrx-data" \
  cargo pgrx test pg15

step "install the extension into PostgreSQL 15"
cargo pgrx install --pg-config "$PG_CONFIG"

step "end-to-end tests against a real cluster"
bash scripts/cluster.sh stop "$WORK/cluster" 2>/dev/null || true
rm -rf "$WORK/cluster"
bash scripts/cluster.sh start "$WORK/cluster" "$PORT"
FRONT_PID=
cleanup() {
  [ -n "$FRONT_PID" ] && kill "$FRONT_PID" 2>/dev/null
  bash scripts/cluster.sh stop "$WORK/cluster"
}
trap cleanup EXIT
OAUTH_TEST_PGHOST="$WORK/cluster/sock" OAUTH_TEST_PGPORT="$PORT" \
  cargo test -p oauth_server_e2e -- --test-threads=4

step "oauth-front over HTTP: openid-client, fetch, headless Chromium"
cargo build -p oauth-front
FRONT_PORT=${OAUTH_TEST_FRONT_PORT:-18080}
FRONT_URL="http://127.0.0.1:$FRONT_PORT"
PSQL_ARGS="-h $WORK/cluster/sock -p $PORT -U postgres -d front_e2e"
psql -X -q -h "$WORK/cluster/sock" -p "$PORT" -U postgres -c "CREATE DATABASE front_e2e"
psql -X -q $PSQL_ARGS -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION oauth_server;
ALTER DATABASE front_e2e SET oauth_server.issuer = '$FRONT_URL';
ALTER DATABASE front_e2e SET oauth_server.consent_url = '$FRONT_URL/consent';
ALTER DATABASE front_e2e SET oauth_server.dynamic_registration = on;
SQL
# A throwaway CA and a certificate for 127.0.0.1: the MCP tests serve a client ID metadata
# document over https on loopback, and the front trusts this CA for that fetch only.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=oauth_server test CA" -keyout "$WORK/ca.key" -out "$WORK/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$WORK/tls.key" -out "$WORK/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$WORK/tls.ext"
openssl x509 -req -in "$WORK/tls.csr" -CA "$WORK/ca.crt" -CAkey "$WORK/ca.key" -CAcreateserial \
  -days 2 -extfile "$WORK/tls.ext" -out "$WORK/tls.crt" 2>/dev/null
export DATABASE_URL="host=$WORK/cluster/sock port=$PORT user=postgres dbname=front_e2e"
target/debug/oauth-front --listen "127.0.0.1:$FRONT_PORT" --public-url "$FRONT_URL" \
  --consent-page --demo-login --register-per-minute 40 --purge-interval 5 \
  --fetch-ca-file "$WORK/ca.crt" --allow-private-fetch \
  >"$WORK/front.log" 2>&1 &
FRONT_PID=$!
for _ in $(seq 50); do curl -fs "$FRONT_URL/healthz" >/dev/null && break; sleep 0.2; done
(cd e2e && FRONT_URL="$FRONT_URL" PSQL_ARGS="$PSQL_ARGS" FRONT_BIN="$PWD/../target/debug/oauth-front" \
  TLS_CERT="$WORK/tls.crt" TLS_KEY="$WORK/tls.key" \
  PG_RESTART_CMD="bash ../scripts/cluster.sh restart $WORK/cluster" npm test) \
  || { echo "--- front log (tail)"; tail -40 "$WORK/front.log"; exit 1; }
# No request may have produced a 500 anywhere in the run.
if grep '"status":5[0-9][0-9]' "$WORK/front.log" | grep -vq '"status":503'; then
  echo "the front answered a 5xx other than 503:"; grep '"status":5' "$WORK/front.log" | grep -v 503; exit 1
fi
