#!/usr/bin/env bash
# Soak: a fixed number of clients run the mixed workload of e2e/bench/load.js (authorize,
# consent step, code exchange, three refreshes, userinfo, introspection, revocation) through
# oauth-front on loopback for a fixed time. Passes when not one request failed and memory is
# flat: the front's resident memory and the private (anonymous) memory of the Postgres backends
# serving it end within SOAK_MEMORY_SLACK percent (or 4 MB, whichever is more) of what they
# were once warm (the median of the second tenth of the run against that of the last tenth).
#   FRONT_URL, PSQL_ARGS, FRONT_PID and STACK_DIR set (test.sh): soak that front. Otherwise a
#   release build runs on its own throwaway cluster.
# Environment: SOAK_SECONDS (default 600), SOAK_CLIENTS (default 8), SOAK_MEMORY_SLACK (10).
# Writes target/soak-summary.md and target/soak-memory.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SOAK_SECONDS:-600}
CLIENTS=${SOAK_CLIENTS:-8}
SLACK=${SOAK_MEMORY_SLACK:-10}
source scripts/stack.sh

if [ -z "${FRONT_URL:-}" ]; then
  bash scripts/install-prereqs.sh >/dev/null
  cargo pgrx install --release --pg-config /usr/lib/postgresql/15/bin/pg_config >/dev/null
  cargo build --release -p oauth-front 2>/dev/null
  trap stack_down EXIT
  OAUTH_FRONT_LOG=warn stack_up /tmp/oauth_server-soak 55436 18096 target/release/oauth-front \
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
  local all=() backends=() pid
  for pid in "$POSTMASTER" $(pgrep -P "$POSTMASTER"); do
    all+=("/proc/$pid/smaps_rollup")
    # A backend's title: "postgres: <user> <database> <client> <state>".
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q "^postgres: [^ ]* $DB " \
      && backends+=("/proc/$pid/smaps_rollup")
  done
  echo "$1,$(kb VmRSS "/proc/$FRONT_PID/status"),$(kb Anonymous "${backends[@]}"),${#backends[@]},$(kb Anonymous "${all[@]}"),${#all[@]}"
}
INTERVAL=$(( SECS / 60 > 1 ? SECS / 60 : 1 ))
echo "seconds,front_rss_kb,backends_private_kb,backends,postgres_private_kb,postgres_processes" >target/soak-memory.csv
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
python3 - "$RESULT" "$SLACK" <<'PY' >target/soak-summary.md || status=$?
import csv, json, statistics, sys
result, slack = json.loads(sys.argv[1]), float(sys.argv[2])
rows = list(csv.DictReader(open("target/soak-memory.csv")))
n = len(rows)
def median(col, lo, hi):
    return statistics.median(int(r[col]) for r in rows[lo:hi] or rows[-1:])
failed = result["errors"] > 0 or n < 5
lines = []
for col, what, judged in (("front_rss_kb", "oauth-front resident memory", True),
                          ("backends_private_kb", "private memory of the Postgres backends serving the front", True),
                          ("postgres_private_kb", "private memory of all Postgres processes (autovacuum workers come and go)", False)):
    warm = median(col, n // 10, max(n // 5, n // 10 + 1))
    end = median(col, n - max(n // 10, 1), n)
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
