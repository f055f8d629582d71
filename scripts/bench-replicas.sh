#!/usr/bin/env bash
# How the read routes (introspection and userinfo) scale with hot standbys: one primary with
# two streaming standbys on loopback (durable: PostgreSQL's defaults), a release oauth-front
# with 0, 1 and 2 --replica-url, the same read load against each, back to back. On one
# 2-core machine the standbys share the cores with the primary, the front and the load
# generator, so this measures what the routing costs and what it buys when CPU is not added;
# the ratios on separate machines are the point of the topology (docs/replicas.md).
#   scripts/bench-replicas.sh [concurrency] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
CONC=${1:-8}
SECS=${2:-10}
source scripts/lib.sh
WORK=${OAUTH_BENCH_REPLICA_DIR:-/tmp/oauth_server-bench-replicas}
PORT=$PLAN_BENCH_REPLICAS_PG FPORT=$PLAN_BENCH_REPLICAS_FRONT
FRONT=$(front_bin release)
FRONT_URL="http://127.0.0.1:$FPORT"
export CLUSTER_DURABILITY=durable
# Ours only: test.sh exports FRONT_PID for its own stack's front.
FRONT_PID=""
cleanup() {
  [ -n "${FRONT_PID:-}" ] && kill "$FRONT_PID" 2>/dev/null
  for n in primary s1 s2; do bash scripts/cluster.sh stop "$WORK/$n" 2>/dev/null || true; done
}
cleanup
trap cleanup EXIT
cargo_release pgrx install --release --pg-config "$PG_CONFIG" >/dev/null
cargo_release build --release -p oauth-front 2>/dev/null
rm -rf "$WORK" && mkdir -p "$WORK" && chmod 777 "$WORK"
bash scripts/cluster.sh start "$WORK/primary" "$PORT"
P="-h $WORK/primary/sock -p $PORT -U postgres"
psql -X -q $P -c "CREATE DATABASE app"
psql -X -q -t -A $P -d app -v ON_ERROR_STOP=1 >"$WORK/client.json" <<SQL
CREATE EXTENSION oauth_server;
ALTER DATABASE app SET oauth_server.issuer = '$FRONT_URL';
SELECT oauth.create_client('Bench reads', ARRAY['http://127.0.0.1:9/callback']);
SQL
for i in 1 2; do
  mkdir -p "$WORK/s$i" && chown postgres "$WORK/s$i" 2>/dev/null || true
  as_pg "$(pg_tool pg_basebackup)" --checkpoint=fast -h "$WORK/primary/sock" -p "$PORT" -U postgres -D "$WORK/s$i/data" -X stream -R >/dev/null
  bash scripts/cluster.sh start "$WORK/s$i" $((PORT + i))
done
export CLIENT_ID CLIENT_SECRET
CLIENT_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_id"])' "$WORK/client.json")
CLIENT_SECRET=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_secret"])' "$WORK/client.json")
dsn() { echo "host=$WORK/$1/sock port=$2 user=postgres dbname=app"; }
front() { # replica flags...
  [ -n "${FRONT_PID:-}" ] && kill "$FRONT_PID" 2>/dev/null && wait "$FRONT_PID" 2>/dev/null || true
  "$FRONT" --listen "127.0.0.1:$FPORT" --demo-login --purge-interval 0 \
    --jwks-refresh-interval 0 --log-format text --database-url "$(dsn primary "$PORT")" \
    --client-auth-failures-per-minute 100000 "$@" >"$WORK/front.log" 2>&1 &
  FRONT_PID=$!
  for _ in $(seq 50); do curl -fs "$FRONT_URL/healthz" >/dev/null && break; sleep 0.2; done
  sleep 1 # the first replica checks
}
front
TOKEN=$(cd e2e && node -e '
  const [base, id, secret] = process.argv.slice(1);
  const { createHash, randomBytes } = await import("node:crypto");
  const s = await (await fetch(`${base}/demo/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "reader" }) })).json();
  const v = randomBytes(32).toString("base64url");
  const q = new URLSearchParams({ response_type: "code", client_id: id, redirect_uri: "http://127.0.0.1:9/callback", scope: "openid", code_challenge: createHash("sha256").update(v).digest("base64url"), code_challenge_method: "S256" });
  const a = new URL((await fetch(`${base}/oauth/authorize?${q}`, { redirect: "manual" })).headers.get("location")).searchParams.get("authorization_id");
  const c = await (await fetch(`${base}/oauth/authorizations/${a}/consent`, { method: "POST", headers: { authorization: `Bearer ${s.session_token}`, "content-type": "application/json" }, body: JSON.stringify({ approve: true }) })).json();
  const code = new URL(c.redirect_to).searchParams.get("code");
  const t = await (await fetch(`${base}/oauth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", authorization: "Basic " + Buffer.from(`${id}:${secret}`).toString("base64") }, body: new URLSearchParams({ grant_type: "authorization_code", code, code_verifier: v, redirect_uri: "http://127.0.0.1:9/callback" }) })).json();
  console.log(t.access_token);' --input-type=module "$FRONT_URL" "$CLIENT_ID" "$CLIENT_SECRET")
sleep 1 # replicated
echo "# durable cluster: $(psql -X -q -t -A $P -c "SELECT 'fsync=' || current_setting('fsync') || ' synchronous_commit=' || current_setting('synchronous_commit')"); concurrency $CONC, ${SECS}s each; $(nproc) cores"
run() { (cd e2e && node bench/reads.js "$FRONT_URL" "$TOKEN" "$CONC" "$SECS"); }
run >/dev/null # warm-up
echo "primary only: $(run)"
front --replica-url "$(dsn s1 $((PORT + 1)))"
echo "primary + 1 replica: $(run)"
front --replica-url "$(dsn s1 $((PORT + 1)))" --replica-url "$(dsn s2 $((PORT + 2)))"
echo "primary + 2 replicas: $(run)"
