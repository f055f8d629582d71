#!/usr/bin/env bash
# Runs oauth_server locally: installs prerequisites (idempotent), builds and installs the
# extension into PostgreSQL 15, starts a throwaway cluster, creates the extension and a demo
# client, and prints how to connect and walk through a flow.
#   scripts/run-local.sh          start (or restart) the demo cluster
#   scripts/run-local.sh stop     stop it
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${OAUTH_DEMO_DIR:-/tmp/oauth_server-demo}
PORT=${OAUTH_DEMO_PORT:-55432}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config

if [ "${1:-}" = stop ]; then bash scripts/cluster.sh stop "$DIR"; echo "stopped"; exit 0; fi

bash scripts/install-prereqs.sh
cargo pgrx install --release --pg-config "$PG_CONFIG" >/dev/null
bash scripts/cluster.sh stop "$DIR" 2>/dev/null || true
rm -rf "$DIR"
bash scripts/cluster.sh start "$DIR" "$PORT"

PSQL=(psql -X -q -h "$DIR/sock" -p "$PORT" -U postgres -v ON_ERROR_STOP=1)
"${PSQL[@]}" -c "CREATE DATABASE app"
"${PSQL[@]}" -d app <<'SQL' >/dev/null
CREATE EXTENSION oauth_server;
ALTER DATABASE app SET oauth_server.issuer = 'http://localhost:8080';
ALTER DATABASE app SET oauth_server.consent_url = 'http://localhost:8080/consent';
SQL
CLIENT=$("${PSQL[@]}" -d app -At -c \
  "SELECT oauth.create_client('Demo app', ARRAY['http://127.0.0.1/callback'], 'confidential', ARRAY['openid','email','profile'])")
cat <<EOT

oauth_server is running on a throwaway cluster:
  psql -h $DIR/sock -p $PORT -U postgres app        (or: psql postgresql://postgres@127.0.0.1:$PORT/app)

Demo client (the secret is shown only now):
  $CLIENT

Walk through a flow in psql: see "Quickstart" in README.md.
Stop it with: scripts/run-local.sh stop
EOT
