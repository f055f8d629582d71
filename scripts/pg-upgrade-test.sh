#!/usr/bin/env bash
# A DBA's path across PostgreSQL majors: pg_upgrade of a PostgreSQL 15 cluster running
# oauth_server to PostgreSQL 18, exactly as docs/operations.md#upgrading-postgresql-to-a-new-major
# tells a DBA to do it, and then the old data still works on 18.
#
#  1. A 15 cluster configured like production (shared_preload_libraries, a key-encryption key
#     file, oauth_server.issuer set with ALTER DATABASE), a database "app" with the extension
#     and scripts/pg-upgrade-fill.sql's data: a confidential and a public client, a consent,
#     live access and refresh tokens, an approved but unredeemed code, ES256 and RS256 keys
#     (sealed by the KEK), a trusted issuer, a resource.
#  2. A new, empty 18 cluster (scripts/cluster.sh, same locale and encoding) with the same
#     checksum setting as the old one, the old cluster's oauth_server lines of postgresql.conf
#     carried over, and the same extension version installed for 18; 15.20's attribute versions
#     taken out of the old cluster's columns when 18 does not know them (below).
#  3. pg_upgrade --check, then pg_upgrade (18's, as user postgres), both clusters stopped.
#  4. The new cluster started, statistics completed (vacuumdb), and scripts/pg-upgrade-check.sql:
#     the issuer setting, JWKS, keys, issuers and resources are unchanged; the old access tokens
#     verify, the old refresh tokens refresh and rotate, the old consent approves a new request
#     without a consent screen, the old code redeems, the old secret authenticates; a new flow
#     works.
#
# Needs the current version installed for both majors (as scripts/upgrade-test.sh does for one):
#   cargo pgrx install --pg-config /usr/lib/postgresql/15/bin/pg_config
#   cargo pgrx install --pg-config /opt/oauth_server/pg18/bin/pg_config --no-default-features --features pg18
# Environment: OAUTH_PG_UPGRADE_DIR (default $OAUTH_TEST_DIR/pg-upgrade), OAUTH_PG_UPGRADE_PORT
# (the old cluster's; the new one uses the next: the port plan, scripts/lib.sh),
# OAUTH_PG_UPGRADE_MODE = copy (default) or link.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS=0
unset PG_CONFIG PGBIN
PG_MAJOR=18
. scripts/lib.sh # as_pg, pg_config_for; stops here if 18 is not installed; PGBIN is 18's
NEW_BIN=$PGBIN
OLD_BIN=$("$(pg_config_for 15)" --bindir)
WORK=${OAUTH_PG_UPGRADE_DIR:-$TEST_ROOT/pg-upgrade}
OLD_PORT=${OAUTH_PG_UPGRADE_PORT:-$PLAN_PG_UPGRADE_PG}
NEW_PORT=$((OLD_PORT + 1))
# copy keeps the 15 cluster startable as the way back until the 18 one is trusted; link
# (hard links, seconds for any size) is what a large cluster wants, and leaves the old cluster
# unusable once the new one has started.
MODE=${OAUTH_PG_UPGRADE_MODE:-copy}
case "$MODE" in copy) mode_flag=--copy ;; link) mode_flag=--link ;; *) echo "OAUTH_PG_UPGRADE_MODE is copy or link" >&2; exit 2 ;; esac
CURRENT=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
ISSUER=https://auth.upgrade.example

# The current version must be installed for both majors: pg_upgrade recreates the extension at
# the version the database has, and the new server loads its own build of the library.
for bin in "$OLD_BIN" "$NEW_BIN"; do
  cfg=$bin/pg_config
  control="$("$cfg" --sharedir)/extension/oauth_server.control"
  lib="$("$cfg" --pkglibdir)/oauth_server.so"
  if [ ! -f "$lib" ] || ! grep -q "^default_version = '$CURRENT'" "$control" 2>/dev/null; then
    echo "oauth_server $CURRENT is not installed for $("$cfg" --version): cargo pgrx install --pg-config $cfg $([ "$bin" = "$NEW_BIN" ] && echo --no-default-features --features pg18)" >&2
    exit 1
  fi
done

old=$WORK/old new=$WORK/new
# scripts/cluster.sh for major $1 (named every way cluster.sh has read it).
cluster() {
  local cfg
  cfg=$(pg_config_for "$1") && shift
  PG_MAJOR=$(pg_major_of "$cfg") PG_CONFIG=$cfg PGBIN=$("$cfg" --bindir) \
    bash scripts/cluster.sh "$@"
}
stop_all() {
  cluster 15 stop "$old" 2>/dev/null || true
  cluster 18 stop "$new" 2>/dev/null || true
}
[ -d "$WORK" ] && stop_all
rm -rf "$WORK" && mkdir -p "$WORK" && chmod 777 "$WORK"
trap stop_all EXIT
psql_at() { local port=$1 dir=$2 db=$3; shift 3; "$NEW_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/sock" -p "$port" -U postgres -d "$db" "$@"; }

# 1. The old cluster, configured as docs/operations.md says: the KEK in a file only postgres
#    reads, named in postgresql.conf with the library preloaded.
head -c 32 /dev/urandom | base64 >"$WORK/oauth_kek"
[ "$(id -u)" = 0 ] && chown postgres: "$WORK/oauth_kek"
chmod 400 "$WORK/oauth_kek"
cluster 15 start "$old" "$OLD_PORT"
as_pg tee -a "$old/data/postgresql.conf" >/dev/null <<CONF
shared_preload_libraries = 'oauth_server'
oauth_server.key_encryption_key_file = '$WORK/oauth_kek'
CONF
cluster 15 restart "$old"
psql_at "$OLD_PORT" "$old" postgres -c "CREATE DATABASE app" \
  -c "ALTER DATABASE app SET oauth_server.issuer = '$ISSUER'"
psql_at "$OLD_PORT" "$old" app -c "CREATE EXTENSION oauth_server"
psql_at "$OLD_PORT" "$old" app -f scripts/pg-upgrade-fill.sql
psql_at "$OLD_PORT" "$old" app -At -c "SELECT oauth.jwks()" >"$WORK/jwks-before.json"

# 2. The new cluster: initdb'd with the same locale and encoding (scripts/cluster.sh), then
#    stopped: pg_upgrade wants it empty and down.
cluster 18 start "$new" "$NEW_PORT"
# PostgreSQL 15.20 (Debian 12's, and 17.12) stamps every column it creates with an attribute
# version kept in attoptions ("pg_attver=…", ATTRIBUTE_VERSION_ATTOPTION in its pg_attribute.h);
# an 18 without that back-branch change (18.6 here) does not know the option, so its pg_dump
# copies it into the schema pg_upgrade restores and its server refuses it: pg_upgrade --check
# passes and pg_upgrade fails at "Restoring database schemas" with unrecognized parameter
# "pg_attver". When the new server refuses the option, it is taken out of the old cluster's
# user columns just before the upgrade (columns made before 15.20 have none: the old server
# reads a column without it as it always did). OAUTH_PG_UPGRADE_KEEP_ATTVER=1 skips that, to
# see the failure.
new_knows_attver=yes
psql_at "$NEW_PORT" "$new" postgres -c "CREATE TEMP TABLE probe (a int)" \
  -c "ALTER TABLE probe ALTER COLUMN a SET (pg_attver = 1)" >/dev/null 2>&1 || new_knows_attver=no
cluster 18 stop "$new"
stamped=0
if [ $new_knows_attver = no ] && [ "${OAUTH_PG_UPGRADE_KEEP_ATTVER:-0}" != 1 ]; then
  for db in $(psql_at "$OLD_PORT" "$old" postgres -At -c "SELECT datname FROM pg_database WHERE datallowconn"); do
    n=$(psql_at "$OLD_PORT" "$old" "$db" -At <<'SQL'
-- Only user relations (OID >= 16384, FirstNormalObjectId): pg_upgrade dumps nothing else.
WITH stripped AS (
  UPDATE pg_catalog.pg_attribute a
     SET attoptions = (SELECT array_agg(o) FROM unnest(a.attoptions) o WHERE o NOT LIKE 'pg_attver=%')
   WHERE a.attrelid >= 16384 AND EXISTS (SELECT FROM unnest(a.attoptions) o WHERE o LIKE 'pg_attver=%')
  RETURNING 1)
SELECT count(*) FROM stripped;
SQL
    )
    stamped=$((stamped + n))
  done
fi
cluster 15 stop "$old"

# 18's initdb turns data checksums on by default and pg_upgrade refuses a mismatch, so the new
# cluster gets the old one's setting (on an empty cluster pg_checksums takes no time; the same
# as initdb --no-data-checksums).
checksums_of() { as_pg "$1/pg_controldata" -D "$2" | sed -n 's/^Data page checksum version: *//p'; }
old_sums=$(checksums_of "$OLD_BIN" "$old/data") new_sums=$(checksums_of "$NEW_BIN" "$new/data")
if [ "$old_sums" != "$new_sums" ]; then
  as_pg "$NEW_BIN/pg_checksums" "$([ "$old_sums" = 0 ] && echo --disable || echo --enable)" -D "$new/data" \
    >"$WORK/pg_checksums.log" 2>&1 || { cat "$WORK/pg_checksums.log"; exit 1; }
fi
# The server settings pg_upgrade does not carry (postgresql.conf and postgresql.auto.conf are
# the DBA's): the library preload and every oauth_server.* line, the KEK file included.
grep -h -E '^[[:space:]]*(shared_preload_libraries|oauth_server\.)' "$old/data/postgresql.conf" "$old/data/postgresql.auto.conf" \
  | as_pg tee -a "$new/data/postgresql.conf" >/dev/null

# 3. pg_upgrade, run as postgres from a directory postgres may write (its sockets go there).
mkdir -p "$WORK/run" && chmod 777 "$WORK/run"
upgrade() {
  (cd "$WORK/run" && as_pg "$NEW_BIN/pg_upgrade" --old-bindir "$OLD_BIN" --new-bindir "$NEW_BIN" \
    --old-datadir "$old/data" --new-datadir "$new/data" --old-port "$OLD_PORT" --new-port "$NEW_PORT" \
    --socketdir "$WORK/run" --username postgres "$@") >"$WORK/pg_upgrade$1.log" 2>&1 \
    || { cat "$WORK/pg_upgrade$1.log"; grep -h -A1 -E '^pg_restore: error|ERROR: ' "$new/data/pg_upgrade_output.d"/*/log/*.log 2>/dev/null | head -20; exit 1; }
}
upgrade --check
grep -q '\*Clusters are compatible\*' "$WORK/pg_upgrade--check.log"
upgrade "$mode_flag"
# pg_upgrade writes update_extensions.sql when an extension's installed version is not the new
# server's default: with the same version installed on both sides there is none.
[ ! -f "$WORK/run/update_extensions.sql" ] || { echo "pg_upgrade asks for extension updates:"; cat "$WORK/run/update_extensions.sql"; exit 1; }

# 4. The new cluster: start, statistics pg_upgrade did not carry, then the old data at work.
cluster 18 start "$new" "$NEW_PORT"
"$NEW_BIN/vacuumdb" -h "$new/sock" -p "$NEW_PORT" -U postgres --all --analyze-in-stages --missing-stats-only -q
"$NEW_BIN/vacuumdb" -h "$new/sock" -p "$NEW_PORT" -U postgres --all --analyze-only -q
[ "$(psql_at "$NEW_PORT" "$new" app -At -c "SELECT current_setting('server_version_num')::int / 10000 || ' ' || extversion FROM pg_extension WHERE extname = 'oauth_server'")" = "18 $CURRENT" ]
psql_at "$NEW_PORT" "$new" app -At -c "SELECT oauth.jwks()" >"$WORK/jwks-after.json"
cmp -s "$WORK/jwks-before.json" "$WORK/jwks-after.json" || { echo "the JWKS changed across pg_upgrade"; exit 1; }
psql_at "$NEW_PORT" "$new" app -f scripts/pg-upgrade-check.sql
algs=$(psql_at "$NEW_PORT" "$new" app -At -c "SELECT string_agg(k->>'alg' || ' ' || (k->>'status'), ', ' ORDER BY k->>'status') FROM jsonb_array_elements(oauth.signing_keys()) k")
echo "pg_upgrade 15 -> 18 ($MODE, checksums $([ "$old_sums" = 0 ] && echo off || echo on), $stamped columns' pg_attver taken out, --check passed): oauth_server $CURRENT, same JWKS ($algs, sealed by the KEK); old access tokens verify, old refresh tokens refresh and rotate, old consent approves the same request without a screen (and no more), old code redeems, old secret authenticates, new flow works (${SECONDS}s)"
