#!/usr/bin/env bash
# HTTP fuzz of oauth-front: schemathesis generates valid and invalid requests for every
# operation of front/openapi.yaml (examples, coverage and fuzzing phases) and checks each
# answer: no 5xx but a documented 503, a documented status, content type, headers and body.
# The requests carry real credentials (a confidential client, a user session, an access token)
# made on the cluster first, so they get past authentication into the SQL functions.
#   FRONT_URL and PSQL_ARGS set (as test.sh does): fuzz that front. Otherwise a throwaway
#   cluster and front are started.
# Environment: HTTP_FUZZ_EXAMPLES test cases per operation and phase (default 100),
# HTTP_FUZZ_SEED to replay a run (printed in the summary).
# Writes target/http-fuzz-summary.md; exit 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES=${HTTP_FUZZ_EXAMPLES:-100}
VENV=${OAUTH_TOOLS_DIR:-$HOME/.local/share/oauth_server}/venv

if [ -z "${FRONT_URL:-}" ]; then
  PG_MAJORS=${PG_MAJOR:-15} bash scripts/install-prereqs.sh >/dev/null
  source scripts/lib.sh
  cargo pgrx install --pg-config "$PG_CONFIG" >/dev/null
  cargo build -p oauth-front 2>/dev/null
  trap stack_down EXIT
  stack_up /tmp/oauth_server-http-fuzz "$PLAN_HTTP_FUZZ_PG" "$PLAN_HTTP_FUZZ_FRONT" "$(front_bin debug)" --register-per-minute 40
fi
psql_at() { psql -X -q -t -A -v ON_ERROR_STOP=1 $PSQL_ARGS "$@"; }
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# Credentials: a client allowed every grant, a user session, and that user's access token.
REDIRECT=http://127.0.0.1:9/callback
RESOURCE=https://mcp.example.com/mcp
read -r FUZZ_CLIENT_ID FUZZ_CLIENT_SECRET < <(psql_at -F ' ' -c "SELECT c->>'client_id', c->>'client_secret'
  FROM oauth.create_client('http fuzz', ARRAY['$REDIRECT'], 'confidential', grant_types => ARRAY['authorization_code',
  'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code']) c")
PUBLIC_CLIENT_ID=$(psql_at -c "SELECT oauth.create_client('http fuzz public', ARRAY['$REDIRECT'], 'public')->>'client_id'")
psql_at -c "SELECT oauth.add_resource('$RESOURCE', 'fuzzed MCP server', ARRAY['openid'])
  WHERE NOT EXISTS (SELECT FROM oauth.resources WHERE resource = '$RESOURCE')" >/dev/null
FUZZ_SESSION_TOKEN=$(curl -fsS -X POST "$FRONT_URL/demo/session" -H 'content-type: application/json' \
  -d '{"username":"fuzz-user"}' | json_field session_token)
VERIFIER=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
CHALLENGE=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=\n')
authorization_id() {
  local location
  location=$(curl -fsS -o /dev/null -w '%{redirect_url}' "$FRONT_URL/oauth/authorize?response_type=code&client_id=$1&redirect_uri=$REDIRECT&scope=openid%20email&code_challenge=$CHALLENGE&code_challenge_method=S256")
  echo "${location##*authorization_id=}"
}
AUTHZ_ID=$(authorization_id "$FUZZ_CLIENT_ID")
CALLBACK=$(curl -fsS -X POST "$FRONT_URL/oauth/authorizations/$AUTHZ_ID/consent" \
  -H "authorization: Bearer $FUZZ_SESSION_TOKEN" -H 'content-type: application/json' -d '{"approve":true}' \
  | json_field redirect_to)
CODE=$(python3 -c 'import sys, urllib.parse as u; print(u.parse_qs(u.urlparse(sys.argv[1]).query)["code"][0])' "$CALLBACK")
TOKENS=$(curl -fsS -u "$FUZZ_CLIENT_ID:$FUZZ_CLIENT_SECRET" "$FRONT_URL/oauth/token" \
  -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$REDIRECT" -d "code_verifier=$VERIFIER")
FUZZ_ACCESS_TOKEN=$(json_field access_token <<<"$TOKENS")
DEVICE=$(curl -fsS -u "$FUZZ_CLIENT_ID:$FUZZ_CLIENT_SECRET" "$FRONT_URL/oauth/device_authorization" -d scope=openid)
# The Supabase admin API's credential (created afresh each run; the cluster is throwaway).
FUZZ_ADMIN_KEY=$(psql_at -c "SELECT oauth.create_admin_key('http fuzz ' || clock_timestamp())")
export FUZZ_CLIENT_ID FUZZ_CLIENT_SECRET FUZZ_SESSION_TOKEN FUZZ_ACCESS_TOKEN FUZZ_ADMIN_KEY

# The dictionaries front/schemathesis.toml names: real values next to near misses.
mkdir -p target/http-fuzz
dict() { local name=$1; shift; printf '"%s"\n' "$@" >"target/http-fuzz/$name.dict"; }
dict client_ids "$FUZZ_CLIENT_ID" "$PUBLIC_CLIENT_ID" "https://client.example.com/metadata.json"
dict redirect_uris "$REDIRECT" "http://127.0.0.1:9/callback/../admin" "HTTP://127.0.0.1:9/CALLBACK" \
  "http://evil@127.0.0.1:9/callback" "http://127.0.0.1:9/callback?x=1" "javascript:alert(1)"
dict challenges "$CHALLENGE" "$VERIFIER"
dict scopes "openid" "openid email profile offline_access" "openid admin"
dict resources "$RESOURCE" "https://unregistered.example.com/"
dict authorization_ids "$(authorization_id "$FUZZ_CLIENT_ID")" "$(authorization_id "$PUBLIC_CLIENT_ID")" \
  "$(json_field user_code <<<"$DEVICE")" "$AUTHZ_ID"
dict tokens "$FUZZ_ACCESS_TOKEN" "$(json_field refresh_token <<<"$TOKENS")" "$(json_field id_token <<<"$TOKENS")" \
  "$(json_field device_code <<<"$DEVICE")" "$CODE"

SEED=${HTTP_FUZZ_SEED:-$RANDOM}
status=0
"$VENV/bin/schemathesis" --config-file front/schemathesis.toml run front/openapi.yaml \
  --url "$FRONT_URL" --workers 2 --max-examples "$EXAMPLES" --seed "$SEED" \
  --phases examples,coverage,fuzzing \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --request-timeout 10 --suppress-health-check too_slow,filter_too_much \
  --report ndjson --report-ndjson-path target/http-fuzz/events.ndjson \
  >target/http-fuzz/run.log 2>&1 || status=$?
tail -40 target/http-fuzz/run.log
python3 scripts/http_fuzz_summary.py target/http-fuzz/events.ndjson "$EXAMPLES" "$SEED" "$status" \
  >target/http-fuzz-summary.md
cat target/http-fuzz-summary.md
exit "$status"
