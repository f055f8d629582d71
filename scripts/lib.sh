# Sourced by the scripts: which PostgreSQL they run against, and how they run its programs.
#
# PG_MAJOR (15, 17 or 18; default 15) picks the server; PG_CONFIG, if set, names it directly
# (and PG_MAJOR is read from it). Where each major comes from on these machines
# (docs/testing.md#postgresql-majors):
#   15  Debian 12's packages (/usr/lib/postgresql/15)
#   17  scripts/postgres/postgresql-17.sh into $OAUTH_PG_PREFIX/pg17
#   18  scripts/postgres/postgresql-18.sh into $OAUTH_PG_PREFIX/pg18
# The prefixes are outside /root because the servers run as user postgres.

OAUTH_PG_PREFIX=${OAUTH_PG_PREFIX:-/opt/oauth_server}
SUPPORTED_PG_MAJORS="15 17 18"

# The pg_config of major $1.
pg_config_for() {
  case "$1" in
    15) echo /usr/lib/postgresql/15/bin/pg_config ;;
    17 | 18) echo "$OAUTH_PG_PREFIX/pg$1/bin/pg_config" ;;
    *) echo "PostgreSQL $1 is not supported: PG_MAJOR is one of $SUPPORTED_PG_MAJORS" >&2; return 2 ;;
  esac
}

if [ -n "${PG_CONFIG:-}" ]; then
  PG_MAJOR=$("$PG_CONFIG" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
else
  PG_MAJOR=${PG_MAJOR:-15}
  PG_CONFIG=$(pg_config_for "$PG_MAJOR")
fi
export PG_MAJOR PG_CONFIG
if [ ! -x "$PG_CONFIG" ]; then
  echo "no PostgreSQL $PG_MAJOR at $PG_CONFIG: bash scripts/install-prereqs.sh installs it (PG_MAJORS=\"$PG_MAJOR\")" >&2
  return 2 2>/dev/null || exit 2
fi
PGBIN=$("$PG_CONFIG" --bindir)

# A client program (pg_dump, pg_basebackup, pgbench, …) for this server: its own, or, where the
# server's build ships none (17 is a server-only build), the newest major's, which reads every
# older server.
pg_tool() {
  if [ -x "$PGBIN/$1" ]; then echo "$PGBIN/$1"; else echo "$OAUTH_PG_PREFIX/pg18/bin/$1"; fi
}

# Postgres refuses to run as root: as root, run its programs as user postgres.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
  else
    "$@"
  fi
}

# The cargo flags that build the extension for this major.
pg_features() {
  if [ "$PG_MAJOR" = 15 ]; then echo ""; else echo "--no-default-features --features pg$PG_MAJOR"; fi
}
