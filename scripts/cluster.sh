#!/usr/bin/env bash
# Throwaway PostgreSQL clusters (of PG_MAJOR: 15, 17 or 18) for the demo, the tests and the benchmarks.
#   scripts/cluster.sh start DIR PORT   initdb (if new) and start, socket in DIR/sock
#   scripts/cluster.sh stop DIR
#   scripts/cluster.sh restart DIR      stop (terminating every connection) and start again
#   scripts/cluster.sh cpu-ticks DIR    CPU time of the whole cluster so far, in clock ticks
#                                       (getconf CLK_TCK per second), for CPU per operation
# Postgres refuses to run as root, so when run as root the cluster belongs to user postgres.
set -euo pipefail
# The server: PG_MAJOR (15, 17 or 18), or PG_CONFIG, or PGBIN (scripts/lib.sh); default 15.
source "$(dirname "$0")/lib.sh"

# CLUSTER_DURABILITY=durable keeps PostgreSQL's defaults (every commit flushed to disk), as the
# benchmarks need; the default, fast, turns fsync, synchronous_commit and full-page writes off,
# which is right for throwaway test clusters and wrong for any figure called durable.
case "${CLUSTER_DURABILITY:-fast}" in
  durable) durability="" ;;
  fast) durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off" ;;
  *) echo "CLUSTER_DURABILITY is durable or fast" >&2; exit 2 ;;
esac

cmd=${1:?start|stop}; dir=${2:?cluster directory}
# stop and restart use the programs of the major the cluster was made with, whatever PG_MAJOR
# says (pg_ctl restart starts its own major's postgres).
if [ "$cmd" != start ] && [ -f "$dir/data/PG_VERSION" ] && [ "$(cat "$dir/data/PG_VERSION")" != "$PG_MAJOR" ]; then
  PGBIN=$("$(pg_config_for "$(cat "$dir/data/PG_VERSION")")" --bindir)
fi
case "$cmd" in
  start)
    port=${3:?port}
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log"; exit 1; }
    fi
    as_pg mkdir -p "$dir/sock"
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/data/postgres.log" -w -t 60 \
      -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=512MB $durability" \
      start >/dev/null || { tail -30 "$dir/data/postgres.log"; exit 1; }
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
  restart)
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w restart >/dev/null \
      || { tail -30 "$dir/data/postgres.log"; exit 1; }
    ;;
  cpu-ticks)
    # Every live Postgres process, plus the children the postmaster has reaped (a benchmark's
    # backends exit when its clients disconnect): user + system time.
    pm=$(head -1 "$dir/data/postmaster.pid")
    read -r -a f <"/proc/$pm/stat"
    t=$((f[13] + f[14] + f[15] + f[16]))
    for pid in $(pgrep -P "$pm"); do
      if read -r -a f <"/proc/$pid/stat" 2>/dev/null; then t=$((t + f[13] + f[14])); fi
    done
    echo "$t"
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR | restart DIR | cpu-ticks DIR" >&2; exit 2 ;;
esac
