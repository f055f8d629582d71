#!/usr/bin/env bash
# Soak: a fixed number of clients run the mixed workload of e2e/bench/load.js (authorize,
# consent step, code exchange, three refreshes, userinfo, introspection, revocation) through
# oauth-front on loopback for a fixed time. Passes when not one request failed and memory is
# flat: the front's resident memory and the private (anonymous) memory of the Postgres backends
# serving it end within SOAK_MEMORY_SLACK percent (or 4 MB, whichever is more) of what they
# were once warm (the median of the second tenth of the run against that of the last tenth).
# Backends are compared like with like: each backend alive both when warm and at the end is
# judged against itself (a per-request leak grows every busy backend), because the pool may
# open more connections during the run and a new backend's memory is not growth.
#   FRONT_URL, PSQL_ARGS, FRONT_PID and STACK_DIR set (test.sh): soak that front. Otherwise a
#   release build runs on its own throwaway cluster.
# Environment: SOAK_SECONDS (default 600), SOAK_CLIENTS (default 8), SOAK_MEMORY_SLACK (10),
# SOAK_JUDGE_MEMORY (1; 0 reports memory without judging it: a short run after other tests
# cannot tell a backend's first use of a statement from a leak, so test.sh's 30-second run
# judges failed requests only and the proof run's ten minutes judge memory).
# Writes target/soak-summary.md, target/soak-memory.csv and target/soak-backends.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SOAK_SECONDS:-600}
CLIENTS=${SOAK_CLIENTS:-8}
SLACK=${SOAK_MEMORY_SLACK:-10}
JUDGE_MEMORY=${SOAK_JUDGE_MEMORY:-1}

if [ -z "${FRONT_URL:-}" ]; then
  PG_MAJORS=${PG_MAJOR:-15} bash scripts/install-prereqs.sh >/dev/null
  source scripts/lib.sh
  cargo_release pgrx install --release --pg-config "$PG_CONFIG" >/dev/null
  cargo_release build --release -p oauth-front 2>/dev/null
  trap stack_down EXIT
  OAUTH_FRONT_LOG=warn stack_up /tmp/oauth_server-soak "$PLAN_SOAK_PG" "$PLAN_SOAK_FRONT" "$(front_bin release)" \
    --pool-size "$CLIENTS"
fi
psql_at() { psql -X -q -t -A -v ON_ERROR_STOP=1 $PSQL_ARGS "$@"; }
read -r CLIENT_ID CLIENT_SECRET < <(psql_at -F ' ' -c "SELECT c->>'client_id', c->>'client_secret'
  FROM oauth.create_client('soak', ARRAY['http://127.0.0.1/callback'], 'confidential') c")

# Memory, sampled about 60 times over the run: the front's RSS; the private (Anonymous) memory
# of the Postgres backends serving the front's database, where a per-request leak would show
# (shared buffers are not anonymous); and, for information, of all Postgres processes, which
# autovacuum workers join and leave.
POSTMASTER=$(head -1 "$STACK_DIR/cluster/data/postmaster.pid")
DB=$(psql_at -c "SELECT current_database()")
# The sum of field $1 over the files named after it (a process may be gone by then).
kb() { local k=$1; shift; [ $# -gt 0 ] || { echo 0; return; }; cat "$@" 2>/dev/null | awk -v k="$k:" '$1 == k { s += $2 } END { print s + 0 }'; }
sample() {
  local all=() backends=() pid per_backend=""
  for pid in "$POSTMASTER" $(pgrep -P "$POSTMASTER"); do
    all+=("/proc/$pid/smaps_rollup")
    # A backend's title: "postgres: <user> <database> <client> <state>".
    if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q "^postgres: [^ ]* $DB "; then
      backends+=("/proc/$pid/smaps_rollup")
      per_backend+=" $pid:$(kb Anonymous "/proc/$pid/smaps_rollup")"
    fi
  done
  echo "$1$per_backend" >>target/soak-backends.txt
  echo "$1,$(kb VmRSS "/proc/$FRONT_PID/status"),$(kb Anonymous "${backends[@]}"),${#backends[@]},$(kb Anonymous "${all[@]}"),${#all[@]}"
}
INTERVAL=$(( SECS / 60 > 1 ? SECS / 60 : 1 ))
echo "seconds,front_rss_kb,backends_private_kb,backends,postgres_private_kb,postgres_processes" >target/soak-memory.csv
: >target/soak-backends.txt
(
  start=$(date +%s)
  while kill -0 "$FRONT_PID" 2>/dev/null; do
    sample $(( $(date +%s) - start )) >>target/soak-memory.csv
    sleep "$INTERVAL"
  done
) &
SAMPLER=$!

RESULT=$(cd e2e && CLIENT_ID=$CLIENT_ID CLIENT_SECRET=$CLIENT_SECRET PROGRESS_SECONDS=$(( SECS >= 300 ? 60 : 0 )) \
  node bench/load.js ours mixed "$FRONT_URL" "$CLIENTS" "$SECS")
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
echo "$RESULT"

status=0
python3 - "$RESULT" "$SLACK" "$JUDGE_MEMORY" <<'PY' >target/soak-summary.md || status=$?
import csv, json, statistics, sys
result, slack, judge_memory = json.loads(sys.argv[1]), float(sys.argv[2]), sys.argv[3] == "1"
rows = list(csv.DictReader(open("target/soak-memory.csv")))
n = len(rows)
def median(col, lo, hi):
    return statistics.median(int(r[col]) for r in rows[lo:hi] or rows[-1:])
failed = result["errors"] > 0 or n < 5
warm_window, end_window = (n // 10, max(n // 5, n // 10 + 1)), (n - max(n // 10, 1), n)
# Per backend: {pid: [kb, ...]} within a window of samples.
per_backend = [dict(map(int, kv.split(":")) for kv in line.split()[1:])
               for line in open("target/soak-backends.txt")]
def backend_medians(lo, hi):
    seen = {}
    for sample in per_backend[lo:hi]:
        for pid, kb in sample.items():
            seen.setdefault(pid, []).append(kb)
    return {pid: statistics.median(kbs) for pid, kbs in seen.items()}
warm_b, end_b = backend_medians(*warm_window), backend_medians(*end_window)
same = sorted(set(warm_b) & set(end_b))
worst = max(same, key=lambda p: end_b[p] - warm_b[p], default=None)
lines = []
for col, what, judged in (("front_rss_kb", "oauth-front resident memory", judge_memory),
                          ("worst_backend", f"private memory of the backend that grew most of the {len(same)} serving the front both when warm and at the end", judge_memory),
                          ("backends_private_kb", "private memory of all Postgres backends serving the front (the pool may open more)", False),
                          ("postgres_private_kb", "private memory of all Postgres processes (autovacuum workers come and go)", False)):
    if col == "worst_backend":
        warm, end = (warm_b[worst], end_b[worst]) if worst else (0, 0)
        peak = max(warm, end)
        failed |= judge_memory and worst is None
    else:
        warm = median(col, *warm_window)
        end = median(col, *end_window)
        peak = max(int(r[col]) for r in rows)
    allowed = max(warm * slack / 100, 4096)
    flat = end - warm <= allowed
    failed |= judged and not flat
    verdict = "" if not judged else " (flat)" if flat else " **grew**"
    lines.append(f"| {what}: warm → end (peak) | {warm / 1024:.1f} → {end / 1024:.1f} MB "
                 f"({peak / 1024:.1f} MB){verdict} |")
print(f"Soak: {result['concurrency']} clients for {result['seconds']:.0f} s through oauth-front "
      f"({'passed' if not failed else 'FAILED'}).\n")
print("| soak | value |\n|---|---|")
print(f"| iterations (flow + 3 refreshes + userinfo + introspect + revoke) | {result['ops']} |")
print(f"| HTTP requests | {result['requests']} ({result['requests'] / result['seconds']:.0f}/s) |")
print(f"| failed iterations | {result['errors']} |")
for line in lines:
    print(line)
backends = sorted({r["backends"] for r in rows}, key=int)
print(f"| memory samples / backends serving the front | {n} / {', '.join(backends)} |")
if result["errors"]:
    print("\nFirst errors: " + "; ".join(result["first_errors"]))
sys.exit(1 if failed else 0)
PY
cat target/soak-summary.md
exit $status
