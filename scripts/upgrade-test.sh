#!/usr/bin/env bash
# Versioned upgrades: every released version, installed from its committed install script
# (sql/oauth_server--<version>.sql), is filled with data (a client, a consent, a live refresh
# token and access token, signing keys, a trusted issuer, a resource), upgraded with
# ALTER EXTENSION oauth_server UPDATE, and then
#   - has exactly the schema of a fresh install of the current version: both are dumped with
#     pg_dump --schema-only --binary-upgrade (the only mode in which pg_dump writes an
#     extension's member objects; its OID- and xid-preserving statements are dropped) and
#     diffed;
#   - still works: the old access token verifies, the old refresh token refreshes, the old
#     consent still covers the same request, the old client's secret still authenticates.
# Needs the current version installed (cargo pgrx install), which also installs the upgrade
# scripts; this script installs the released versions' install scripts beside them.
# PG_MAJOR (scripts/lib.sh; default 15) picks the server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
# One pg_dump dumps both the fresh and the upgraded database (the 17 build has none: 18's).
PG_DUMP=$(pg_tool pg_dump)
WORK=${OAUTH_UPGRADE_DIR:-$TEST_ROOT/upgrade}
PORT=${OAUTH_UPGRADE_PORT:-$PLAN_UPGRADE_PG}
EXTDIR="$("$PG_CONFIG" --sharedir)/extension"
CURRENT=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
VERIFIER=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk
CHALLENGE=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
# The id of a new authorization request of the client in psql variable cid (openid, PKCE).
NEW_REQUEST="split_part(split_part(oauth.authorize(jsonb_build_object('client_id', :'cid',
  'redirect_uri', 'https://app.example/cb', 'response_type', 'code', 'scope', 'openid',
  'state', 's', 'code_challenge', '$CHALLENGE', 'code_challenge_method', 'S256'))->>'redirect_to',
  'authorization_id=', 2), '&', 1)"

bash scripts/cluster.sh stop "$WORK/cluster" 2>/dev/null || true
rm -rf "$WORK" && mkdir -p "$WORK" && chmod 777 "$WORK"
bash scripts/cluster.sh start "$WORK/cluster" "$PORT"
trap 'bash scripts/cluster.sh stop "$WORK/cluster"' EXIT
psql_in() { local db=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -h "$WORK/cluster/sock" -p "$PORT" -U postgres -d "$db" "$@"; }
# The schema as pg_dump sees it, without what differs between any two databases.
schema_of() {
  "$PG_DUMP" -h "$WORK/cluster/sock" -p "$PORT" -U postgres --schema-only --binary-upgrade "$1" \
    | awk '/^UPDATE pg_catalog\.pg_class$/ { skip = 3 } skip > 0 { skip--; next } { print }' \
    | grep -v -e 'binary_upgrade' -e '^\\restrict' -e '^\\unrestrict' -e '^--' -e '^$'
}

psql_in postgres -c "CREATE DATABASE fresh"
psql_in fresh -c "CREATE EXTENSION oauth_server"
[ "$(psql_in fresh -At -c "SELECT extversion FROM pg_extension WHERE extname = 'oauth_server'")" = "$CURRENT" ]
schema_of fresh >"$WORK/fresh.sql"

versions=()
for f in sql/oauth_server--*.sql; do
  v=${f#sql/oauth_server--}; v=${v%.sql}
  case "$v" in *--*|"$CURRENT") continue ;; esac
  install -m 644 "$f" "$EXTDIR/"
  versions+=("$v")
done
[ ${#versions[@]} -gt 0 ] || { echo "no released version to upgrade from"; exit 1; }

for v in "${versions[@]}"; do
  db="from_${v//./_}"
  psql_in postgres -c "CREATE DATABASE $db"
  psql_in "$db" <<SQL
\\set ON_ERROR_STOP 1
-- The installing role's default privileges must not reach what the upgrade creates (as a
-- fresh install's finalize.sql makes sure they do not).
DO \$\$ BEGIN CREATE ROLE upgrade_reporting; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$;
ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO upgrade_reporting;
ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO upgrade_reporting;
CREATE EXTENSION oauth_server VERSION '$v';
-- Data of the old version: a client, a trusted issuer, a resource, a grant with live tokens.
SELECT c->>'client_id' AS cid, c->>'client_secret' AS secret
  FROM oauth.create_client('Upgrade test', ARRAY['https://app.example/cb']) c \\gset
SELECT oauth.add_resource('https://api.example') IS NOT NULL AS resource_added \\gset
SELECT $NEW_REQUEST AS aid \\gset
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "upgrade-user", "role": "authenticated"}', true) AS claims_set \\gset
SELECT split_part(split_part(oauth.consent(:'aid', true)->>'redirect_to', 'code=', 2), '&', 1) AS code \\gset
COMMIT;
SELECT t->>'access_token' AS at, t->>'refresh_token' AS rt
  FROM oauth.exchange_code(:'code', '$VERIFIER', 'https://app.example/cb', :'cid', :'secret') t \\gset
SELECT oauth.add_issuer('https://idp.example', jsonb_build_object('audience', 'app', 'refresh', false,
  'jwks', jsonb_build_object('keys', oauth.jwks()->'keys'))) IS NOT NULL AS issuer_added \\gset

ALTER EXTENSION oauth_server UPDATE;
SELECT extversion = '$CURRENT' AS updated FROM pg_extension WHERE extname = 'oauth_server' \\gset
\\if :updated
\\else
  SELECT 'ALTER EXTENSION UPDATE did not reach $CURRENT'::int;
\\endif

SELECT count(*) = 0 AS no_leak FROM (
  SELECT FROM pg_class c, aclexplode(c.relacl) a
  WHERE c.relnamespace = 'oauth'::regnamespace AND a.grantee = 'upgrade_reporting'::regrole
  UNION ALL
  SELECT FROM pg_proc p, aclexplode(p.proacl) a
  WHERE p.pronamespace = 'oauth'::regnamespace AND a.grantee = 'upgrade_reporting'::regrole) g \\gset
\\if :no_leak
\\else
  SELECT 'the upgrade granted the installing role''s default privileges on new objects'::int;
\\endif
ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM upgrade_reporting;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM upgrade_reporting;

-- The old data works on the new version.
SELECT oauth.verify(:'at')->>'sub' = 'upgrade-user' AS verifies \\gset
\\if :verifies
\\else
  SELECT 'the old access token no longer verifies'::int;
\\endif
SELECT oauth.refresh(:'rt', :'cid', :'secret') ? 'access_token' AS refreshes \\gset
\\if :refreshes
\\else
  SELECT 'the old refresh token no longer refreshes'::int;
\\endif
SELECT $NEW_REQUEST AS aid2 \\gset
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "upgrade-user", "role": "authenticated"}', true) AS claims_set \\gset
SELECT oauth.authorization(:'aid2')->>'redirect_to' LIKE '%code=%' AS still_consented \\gset
COMMIT;
\\if :still_consented
\\else
  SELECT 'the old consent no longer covers the same request'::int;
\\endif
SQL
  schema_of "$db" >"$WORK/$db.sql"
  if ! diff -u "$WORK/fresh.sql" "$WORK/$db.sql" >"$WORK/$db.diff"; then
    echo "schema after upgrading $v to $CURRENT differs from a fresh $CURRENT install:"
    cat "$WORK/$db.diff"
    exit 1
  fi
  echo "upgrade $v -> $CURRENT: schema equals a fresh install ($(wc -l <"$WORK/fresh.sql") lines of pg_dump), old tokens, refresh token and consent work"
done
