#!/usr/bin/env bash
# Runs oauth_server locally, ready to click through: installs prerequisites (idempotent),
# builds and installs the extension, starts a throwaway PostgreSQL cluster with a demo client,
# and runs oauth-front in the foreground with the reference consent page and demo sign-in.
#   scripts/run-local.sh          start (Ctrl-C stops the front and the cluster)
#   scripts/run-local.sh stop     stop a cluster left behind
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${OAUTH_DEMO_DIR:-/tmp/oauth_server-demo}
OAUTH_LIB_NO_SELECT=1 source scripts/lib.sh
PORT=${OAUTH_DEMO_PORT:-$PLAN_DEMO_PG}
HTTP_PORT=${OAUTH_DEMO_HTTP_PORT:-$PLAN_DEMO_HTTP}
BASE="http://localhost:$HTTP_PORT"

if [ "${1:-}" = stop ]; then bash scripts/cluster.sh stop "$DIR"; echo "stopped"; exit 0; fi

PG_MAJORS=${PG_MAJOR:-15} bash scripts/install-prereqs.sh
pg_select
cargo_release pgrx install --release --pg-config "$PG_CONFIG" >/dev/null
cargo_release build --release -p oauth-front
bash scripts/cluster.sh stop "$DIR" 2>/dev/null || true
rm -rf "$DIR"
bash scripts/cluster.sh start "$DIR" "$PORT"
trap 'bash scripts/cluster.sh stop "$DIR"' EXIT

PSQL=(psql -X -q -h "$DIR/sock" -p "$PORT" -U postgres -v ON_ERROR_STOP=1)
"${PSQL[@]}" -c "CREATE DATABASE app"
"${PSQL[@]}" -d app >/dev/null <<SQL
CREATE EXTENSION oauth_server;
ALTER DATABASE app SET oauth_server.issuer = '$BASE';
ALTER DATABASE app SET oauth_server.consent_url = '$BASE/consent';
ALTER DATABASE app SET oauth_server.dynamic_registration = on;
SELECT oauth.set_scope('notes:read', 'Read your notes');
SQL
# A public demo client (PKCE, no secret) whose redirect URI is the front itself, so the browser
# ends somewhere visible with the code in the address bar.
CLIENT_ID=$("${PSQL[@]}" -d app -At -c \
  "SELECT oauth.create_client('Demo app', ARRAY['$BASE/callback'], 'public') ->> 'client_id'")
# RFC 7636 appendix B's example pair: fine for a demo, never for a real client.
VERIFIER=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk
CHALLENGE=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
cat <<EOT

oauth_server is running on a throwaway cluster, with oauth-front at $BASE
  database:  psql -h $DIR/sock -p $PORT -U postgres app
  discovery: curl $BASE/.well-known/openid-configuration

1. Open in a browser (sign in as any name, e.g. alice, then Allow):
   $BASE/oauth/authorize?response_type=code&client_id=$CLIENT_ID&redirect_uri=$BASE/callback&scope=openid%20email%20profile%20notes:read&state=demo&code_challenge=$CHALLENGE&code_challenge_method=S256

2. The browser lands on $BASE/callback?code=…  Exchange the code:
   curl -s $BASE/oauth/token -d grant_type=authorization_code -d client_id=$CLIENT_ID \\
        -d redirect_uri=$BASE/callback -d code_verifier=$VERIFIER -d code=CODE_FROM_THE_ADDRESS_BAR

3. Then: curl -s $BASE/oauth/userinfo -H "Authorization: Bearer ACCESS_TOKEN"

Sign-in here is the demo one (any name). To add a real provider (Google, Apple, Microsoft,
WorkOS, GitHub, any OpenID provider), register $BASE/signin/NAME/callback at it and run e.g.
   SELECT oauth.add_sign_in_provider('google', '{"kind": "oidc", "issuer": "https://accounts.google.com",
     "client_id": "…", "client_secret": "…"}');
in the database above: the consent page shows its button (docs/sign-in.md has every recipe).

Ctrl-C stops the front and the cluster.
EOT
DATABASE_URL="host=$DIR/sock port=$PORT user=postgres dbname=app" \
  "$(front_bin release)" --listen "127.0.0.1:$HTTP_PORT" --public-url "$BASE" \
  --consent-page --demo-login --log-format text
