# No test leaves a process behind (sourced by scripts/lib.sh; scripts source that).
#
# A run marks itself with run_mark (an OAUTH_RUN_MARK unique to it, exported, so every program it
# starts inherits it unless its environment is replaced, as sudo does) and knows its directories
# (the directory plan in lib.sh). A process is the run's when it is a postgres, pg_autoctl,
# oauth-front, node or Chromium process that carries the mark, or whose working directory or
# command line lies in one of those directories: every Postgres process, whatever its user,
# session or parent, works in its data directory. Processes of other runs on the machine (other
# OAUTH_TEST_DIRs, other marks) are not the run's, even with the same names.
#   run_mark                      once, at the start of a run (a nested script keeps its caller's)
#   leftovers DIR...              prints "pid user command" of each process of the run still alive
#   no_leftovers DIR...           waits up to 10 s for them to end; fails listing those left
#   kill_leftovers DIR...         ends them (TERM, then KILL after 5 s)

run_mark() {
  OAUTH_RUN_MARK=${OAUTH_RUN_MARK:-$(basename "$0")-$$-$(date +%s%N)}
  export OAUTH_RUN_MARK
}

leftovers() {
  local p pid comm cwd args d hit
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = "$$" ] && continue
    read -r comm 2>/dev/null <"$p/comm" || continue
    case "$comm" in postgres | postmaster | pg_autoctl | oauth-front | node | chrome* | chromium*) ;; *) continue ;; esac
    hit=
    if [ -n "${OAUTH_RUN_MARK:-}" ] \
      && tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "OAUTH_RUN_MARK=$OAUTH_RUN_MARK"; then
      hit=1
    else
      cwd=$(readlink "$p/cwd" 2>/dev/null) || cwd=
      args=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || args=
      for d in "$@"; do
        [ -n "$d" ] || continue
        case "$cwd/" in "$d"/*) hit=1; break ;; esac
        case " $args" in *"$d"/* | *" $d "*) hit=1; break ;; esac
      done
    fi
    [ -z "$hit" ] || ps -o pid=,user=,args= -p "$pid" 2>/dev/null || true
  done
}

no_leftovers() {
  local left
  for _ in $(seq 20); do
    left=$(leftovers "$@")
    [ -n "$left" ] || return 0
    sleep 0.5
  done
  echo "processes of this run are still running (it must stop everything it starts):"
  echo "$left"
  return 1
}

kill_leftovers() {
  local pids
  pids=$(leftovers "$@" | awk '{print $1}')
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086 # a list of pids
  kill $pids 2>/dev/null || true
  for _ in $(seq 10); do
    pids=$(leftovers "$@" | awk '{print $1}')
    [ -n "$pids" ] || return 0
    sleep 0.5
  done
  # shellcheck disable=SC2086
  kill -9 $pids 2>/dev/null || true
}
