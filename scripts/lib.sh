# Sourced by the scripts: which PostgreSQL they run against, and how they run its programs.
#
# PG_MAJOR (15, 17 or 18; default 15) picks the server; PG_CONFIG, if set, names it directly
# (and PG_MAJOR is read from it); so does PGBIN given alone. Sourcing sets and exports PG_MAJOR
# and PG_CONFIG, sets PGBIN, and stops the script if that server is not installed.
# OAUTH_LIB_NO_SELECT=1 source scripts/lib.sh only defines the functions (install-prereqs.sh,
# which installs the servers). Where each major comes from on these machines
# (docs/testing.md#postgresql-majors):
#   15  Debian 12's packages (/usr/lib/postgresql/15)
#   17  scripts/postgres/postgresql-17.sh into $OAUTH_PG_PREFIX/pg17
#   18  scripts/postgres/postgresql-18.sh into $OAUTH_PG_PREFIX/pg18
# The prefixes are outside /root because the servers run as user postgres.

OAUTH_PG_PREFIX=${OAUTH_PG_PREFIX:-/opt/oauth_server}
export OAUTH_PG_PREFIX
SUPPORTED_PG_MAJORS="15 17 18"
# The major that runs the whole HTTP suite and the tests that need Debian's packages of it
# (pg_auto_failover's failover test, the hot-standby test); the others run a short HTTP run.
MAIN_PG_MAJOR=15

# The pg_config of major $1.
pg_config_for() {
  case "$1" in
    15) echo /usr/lib/postgresql/15/bin/pg_config ;;
    17 | 18) echo "$OAUTH_PG_PREFIX/pg$1/bin/pg_config" ;;
    *) echo "PostgreSQL $1 is not supported: PG_MAJOR is one of $SUPPORTED_PG_MAJORS" >&2; return 2 ;;
  esac
}

# Selects the server from PG_CONFIG, PGBIN or PG_MAJOR (in that order) and checks it is there.
pg_select() {
  # A PGBIN given alone (PGBIN=/opt/oauth_server/pg18/bin bash scripts/cluster.sh …) names the
  # server by its bin directory: every build here has a pg_config there.
  if [ -z "${PG_CONFIG:-}" ] && [ -n "${PGBIN:-}" ] && [ -x "$PGBIN/pg_config" ]; then
    PG_CONFIG=$PGBIN/pg_config
  fi
  if [ -n "${PG_CONFIG:-}" ]; then
    [ -x "$PG_CONFIG" ] || { echo "PG_CONFIG=$PG_CONFIG: no such program" >&2; return 2; }
    PG_MAJOR=$("$PG_CONFIG" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
  else
    PG_MAJOR=${PG_MAJOR:-15}
    PG_CONFIG=$(pg_config_for "$PG_MAJOR") || return 2
  fi
  export PG_MAJOR PG_CONFIG
  if [ ! -x "$PG_CONFIG" ]; then
    echo "no PostgreSQL $PG_MAJOR at $PG_CONFIG: PG_MAJORS=$PG_MAJOR bash scripts/install-prereqs.sh installs it" >&2
    return 2
  fi
  PGBIN=$("$PG_CONFIG" --bindir)
}

# Switches to major $1 (test.sh, which runs several in turn).
pg_use() {
  unset PG_CONFIG PGBIN
  PG_MAJOR=$1
  pg_select
}

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

# The cargo flags that build the extension for this major (cargo pgrx install --pg-config and
# cargo pgrx test pgNN choose the same by themselves).
pg_features() {
  if [ "$PG_MAJOR" = 15 ]; then echo ""; else echo "--no-default-features --features pg$PG_MAJOR"; fi
}

if [ "${OAUTH_LIB_NO_SELECT:-0}" != 1 ]; then
  pg_select || { return 2 2>/dev/null || exit 2; }
fi
