# The HTTP test stack (sourced by scripts/lib.sh; scripts source that): a throwaway cluster with
# the extension and oauth-front on it, for test.sh, http-test.sh, http-fuzz.sh, soak.sh and
# proof.sh.
#   stack_up DIR PGPORT FRONT_PORT FRONT_BIN [extra oauth-front flags...]
# sets FRONT_URL, FRONT_PID, PSQL_ARGS, DATABASE_URL, STACK_DIR, STACK_FRONT_BIN and writes a
# throwaway CA and a 127.0.0.1 certificate (DIR/ca.crt, DIR/tls.crt, DIR/tls.key) that the front
# trusts for client metadata documents. stack_down stops both; callers put it in their EXIT trap.
#   http_suite [node --test arguments...]   the e2e/ suite (or the files named) against it
#   stack_no_server_errors                  fails when the front answered a 5xx other than 503

stack_up() {
  local dir=$1 port=$2 front_port=$3 front_bin=$4
  shift 4
  STACK_DIR=$dir
  STACK_FRONT_BIN=$(realpath "$front_bin")
  FRONT_PID=
  bash scripts/cluster.sh stop "$dir/cluster" 2>/dev/null || true
  rm -rf "$dir/cluster" && mkdir -p "$dir" && chmod 777 "$dir"
  bash scripts/cluster.sh start "$dir/cluster" "$port"
  FRONT_URL="http://127.0.0.1:$front_port"
  PSQL_ARGS="-h $dir/cluster/sock -p $port -U postgres -d front_e2e"
  psql -X -q -h "$dir/cluster/sock" -p "$port" -U postgres -c "CREATE DATABASE front_e2e"
  psql -X -q $PSQL_ARGS -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION oauth_server;
ALTER DATABASE front_e2e SET oauth_server.issuer = '$FRONT_URL';
ALTER DATABASE front_e2e SET oauth_server.consent_url = '$FRONT_URL/consent';
ALTER DATABASE front_e2e SET oauth_server.dynamic_registration = on;
SQL
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=oauth_server test CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$dir/tls.key" -out "$dir/tls.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$dir/tls.ext"
  openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/tls.ext" -out "$dir/tls.crt" 2>/dev/null
  DATABASE_URL="host=$dir/cluster/sock port=$port user=postgres dbname=front_e2e"
  export DATABASE_URL FRONT_URL PSQL_ARGS
  "$STACK_FRONT_BIN" --listen "127.0.0.1:$front_port" --public-url "$FRONT_URL" \
    --consent-page --demo-login --fetch-ca-file "$dir/ca.crt" --allow-private-fetch "$@" \
    >"$dir/front.log" 2>&1 &
  FRONT_PID=$!
  export FRONT_PID STACK_DIR
  for _ in $(seq 50); do curl -fs "$FRONT_URL/healthz" >/dev/null && return 0; sleep 0.2; done
  echo "oauth-front did not start:"; tail -20 "$dir/front.log"; return 1
}

# Stops the front (and waits for it) and the cluster; forgets them, so that a second call (an
# EXIT trap after an explicit stack_down) does nothing.
stack_down() {
  if [ -n "${FRONT_PID:-}" ]; then
    kill "$FRONT_PID" 2>/dev/null && wait "$FRONT_PID" 2>/dev/null || true
  fi
  [ -n "${STACK_DIR:-}" ] && bash scripts/cluster.sh stop "$STACK_DIR/cluster"
  FRONT_PID="" STACK_DIR=""
  return 0
}

# The e2e/ suite (node --test, one file at a time; default: every file of e2e/tests) against the
# stack, with what its tests need: the front's binary (they start fronts of their own), the
# stack's certificate (a client metadata document served over https), how to restart its
# cluster, and their ports from the plan (EXTRA_FRONT_PORT, DB_TLS_PGPORT). On failure it prints
# the tail of the front's log.
http_suite() {
  [ $# -gt 0 ] || set -- tests/
  (cd e2e && FRONT_BIN=$STACK_FRONT_BIN TLS_CERT="$STACK_DIR/tls.crt" TLS_KEY="$STACK_DIR/tls.key" \
    PG_RESTART_CMD="bash ../scripts/cluster.sh restart $STACK_DIR/cluster" \
    EXTRA_FRONT_PORT=${EXTRA_FRONT_PORT:-$PLAN_TEST_EXTRA} DB_TLS_PGPORT=${DB_TLS_PGPORT:-$PLAN_TEST_DB_TLS} \
    node --test --test-concurrency=1 "$@") \
    || { echo "--- front log (tail)"; tail -40 "$STACK_DIR/front.log"; return 1; }
}

# Fails when the front's log shows a 5xx other than 503 (the database went away, which the
# fault test causes on purpose).
stack_no_server_errors() {
  local log="$STACK_DIR/front.log"
  if grep '"status":5[0-9][0-9]' "$log" | grep -vq '"status":503'; then
    echo "the front answered a 5xx other than 503:"
    grep '"status":5' "$log" | grep -v '"status":503' | head -20
    return 1
  fi
}
