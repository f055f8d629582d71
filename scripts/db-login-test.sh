#!/usr/bin/env bash
# Signing in to the database with this server's tokens (PostgreSQL 18's OAuth validator,
# docs/db-login.md), the whole path on a cluster configured as the docs say:
#   1. a PostgreSQL 18 cluster (built --with-libcurl) with oauth_server preloaded and named as
#      the validator, database `app` holding the extension (oauth_server.db_login_database), a
#      pg_hba.conf line `host … oauth issuer=… scope="openid db:login" map=oauth` and an ident
#      map giving every signed-in user the role app_user; oauth-front on loopback as the issuer
#   2. the validator's rules over the wire (pgrx-tests/tests/db_login: each refusal, RLS
#      in the session, the revocation bound measured)
#   3. psql 18 itself: oauth_issuer + oauth_client_id, the device code it prints approved by
#      e2e/db_login_approve.mjs through the consent API as the user, then the session as
#      app_user with oauth.uid() the user
#   DB_LOGIN_DIR, DB_LOGIN_PORT, DB_LOGIN_FRONT_PORT (scripts/lib.sh's port plan);
#   DB_LOGIN_KEEP=1 leaves the stack up (printing how to stop it); DB_LOGIN_BENCH=1 runs the
#   benchmark instead of the tests (scripts/bench-db-login.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PG_MAJOR=18 source scripts/lib.sh
DIR=${DB_LOGIN_DIR:-$TEST_ROOT/db-login}
PORT=${DB_LOGIN_PORT:-$PLAN_DB_LOGIN_PG}
FRONT_PORT=${DB_LOGIN_FRONT_PORT:-$PLAN_DB_LOGIN_FRONT}
FRONT=${FRONT_BIN:-$(front_bin debug)}
ISSUER="http://127.0.0.1:$FRONT_PORT"
PSQL18="$PGBIN/psql"
[ -x "$FRONT" ] || { echo "no oauth-front at $FRONT (cargo build -p oauth-front)"; exit 2; }

FRONT_PID=""
down() {
  [ -z "$FRONT_PID" ] || { kill "$FRONT_PID" 2>/dev/null; wait "$FRONT_PID" 2>/dev/null || true; }
  bash scripts/cluster.sh stop "$DIR/cluster" 2>/dev/null || true
}
[ "${DB_LOGIN_KEEP:-0}" = 1 ] || trap down EXIT

bash scripts/cluster.sh stop "$DIR/cluster" 2>/dev/null || true
rm -rf "$DIR" && mkdir -p "$DIR" && chmod 777 "$DIR"
bash scripts/cluster.sh start "$DIR/cluster" "$PORT"
bash scripts/cluster.sh stop "$DIR/cluster"
DATA=$DIR/cluster/data
cat >>"$DATA/postgresql.conf" <<CONF
# docs/db-login.md
shared_preload_libraries = 'oauth_server'
oauth_validator_libraries = 'oauth_server'
oauth_server.db_login_database = 'app'
oauth_server.db_login_audience = 'postgres://127.0.0.1/%d'
oauth_server.db_login_refresh_interval = '500ms'
oauth_server.issuer = '$ISSUER'
oauth_server.consent_url = '$ISSUER/consent'
CONF
# Database `delegated` is the refusal test of delegate_ident_mapping (which the validator does
# not support, and so refuses).
cat >"$DATA/pg_hba.conf" <<HBA
local all all trust
host app bench_scram 127.0.0.1/32 scram-sha-256
host delegated all 127.0.0.1/32 oauth issuer="$ISSUER" scope="openid db:login" delegate_ident_mapping=1
host all all 127.0.0.1/32 oauth issuer="$ISSUER" scope="openid db:login" map=oauth
HBA
cat >"$DATA/pg_ident.conf" <<IDENT
oauth /^(.*)\$ app_user
IDENT
chown postgres:postgres "$DATA"/*.conf
bash scripts/cluster.sh start "$DIR/cluster" "$PORT"
SOCK=$DIR/cluster/sock
psql -X -q -h "$SOCK" -p "$PORT" -U postgres -v ON_ERROR_STOP=1 <<SQL
CREATE DATABASE app;
CREATE DATABASE other;
CREATE DATABASE delegated;
CREATE ROLE app_user LOGIN;
CREATE ROLE authenticated;
SQL
psql -X -q -h "$SOCK" -p "$PORT" -U postgres -d app -v ON_ERROR_STOP=1 <<'SQL'
CREATE EXTENSION oauth_server;
SELECT oauth.set_scope('db:login', 'Sign in to the database as yourself');
SELECT oauth.add_resource('postgres://127.0.0.1/app', 'The app database', ARRAY['db:login']);
SELECT oauth.add_resource('postgres://127.0.0.1/other', 'Another database', ARRAY['db:login']);
GRANT USAGE ON SCHEMA oauth TO app_user;
SQL
# psql's public client: the device grant; its requests name no resource (libpq sends none), so
# its default resource is the app database's audience. The one client allowed to sign in.
CLIENT_ID=$(psql -X -At -h "$SOCK" -p "$PORT" -U postgres -d app -v ON_ERROR_STOP=1 <<'SQL'
SELECT oauth.create_client('psql', ARRAY[]::text[], 'public',
    grant_types => ARRAY['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'])->>'client_id';
SQL
)
psql -X -q -h "$SOCK" -p "$PORT" -U postgres -d app -v ON_ERROR_STOP=1 <<SQL
SELECT oauth.update_client('$CLIENT_ID', '{"default_resources": ["postgres://127.0.0.1/app"]}');
ALTER SYSTEM SET oauth_server.db_login_clients = '$CLIENT_ID';
SELECT pg_reload_conf();
SQL
export DATABASE_URL="host=$SOCK port=$PORT user=postgres dbname=app"
"$FRONT" --listen "127.0.0.1:$FRONT_PORT" --public-url "$ISSUER" --consent-page --demo-login >"$DIR/front.log" 2>&1 &
FRONT_PID=$!
for _ in $(seq 50); do curl -fs "$ISSUER/healthz" >/dev/null && break; sleep 0.2; done
curl -fs "$ISSUER/healthz" >/dev/null || { echo "oauth-front did not start:"; tail -20 "$DIR/front.log"; exit 1; }
echo "db-login stack: cluster $SOCK port $PORT, front $ISSUER"
if [ "${DB_LOGIN_KEEP:-0}" = 1 ]; then
  echo "kept up: stop with: kill $FRONT_PID; bash scripts/cluster.sh stop $DIR/cluster"
  exit 0
fi

if [ "${DB_LOGIN_BENCH:-0}" = 1 ]; then
  echo "== what a sign-in costs the server (pgrx-tests/tests/db_login/bench.rs)"
  OAUTH_DB_LOGIN_PGHOST=$SOCK OAUTH_DB_LOGIN_PGPORT=$PORT OAUTH_DB_LOGIN_CLIENT=$CLIENT_ID \
    OAUTH_DB_LOGIN_CLUSTER=$DIR/cluster \
    cargo test -q -p oauth_server_e2e --test db_login -- --ignored --nocapture bench_
  exit 0
fi

echo "== the validator's rules over the wire (pgrx-tests/tests/db_login)"
OAUTH_DB_LOGIN_PGHOST=$SOCK OAUTH_DB_LOGIN_PGPORT=$PORT OAUTH_DB_LOGIN_CLIENT=$CLIENT_ID \
  cargo test -q -p oauth_server_e2e --test db_login -- --test-threads=1 --nocapture ${DB_LOGIN_TESTS:-}

echo "== psql 18 signs in with the device flow (e2e/db_login/psql.test.js)"
(cd e2e && FRONT_URL=$ISSUER PSQL_ARGS="-h $SOCK -p $PORT -U postgres -d app" PSQL18=$PSQL18 \
  DB_LOGIN_PGPORT=$PORT DB_LOGIN_CLIENT=$CLIENT_ID node --test db_login/psql.test.js) \
  || { echo "--- front log (tail)"; tail -20 "$DIR/front.log"; exit 1; }
echo "db-login: passed"

