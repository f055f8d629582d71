#!/usr/bin/env bash
# The README's "Proof" figures from one run, on this machine, against a release build on a
# throwaway cluster:
#   1. the security suite (threats after RFC 9700 and the rule files the README's table cites),
#   2. cargo fuzz over every parser of untrusted input (scripts/fuzz.sh),
#   3. schemathesis over the front's OpenAPI description (scripts/http-fuzz.sh),
#   4. the soak (scripts/soak.sh),
#   5. faults: backends killed and Postgres restarted under load (e2e/tests/faults.test.js),
#   6. the front's log over all of it: no 5xx but the 503s the faults cause.
# Every part runs even when an earlier one failed. Writes target/proof.md; exit 1 on any failure.
# Environment: FUZZ_SECONDS per fuzz target (60), HTTP_FUZZ_EXAMPLES (500), SOAK_SECONDS (600),
# SOAK_CLIENTS (8). About 30 minutes with the defaults.
set -uo pipefail
cd "$(dirname "$0")/.."
export FUZZ_SECONDS=${FUZZ_SECONDS:-60} HTTP_FUZZ_EXAMPLES=${HTTP_FUZZ_EXAMPLES:-500}
export SOAK_SECONDS=${SOAK_SECONDS:-600} SOAK_CLIENTS=${SOAK_CLIENTS:-8}
DIR=/tmp/oauth_server-proof
SECURITY_TESTS=(threats privilege_rules code_rules refresh_rules authorize_rules key_rules issuer_rules
  audit_rules key_protection_rules bad_input)
failed=()
part() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

set -e
PG_MAJORS=${PG_MAJOR:-15} bash scripts/install-prereqs.sh >/dev/null
source scripts/lib.sh
PORT=$PLAN_PROOF_PG
cargo_release pgrx install --release --pg-config "$PG_CONFIG" >/dev/null
cargo_release build --release -p oauth-front 2>/dev/null
trap stack_down EXIT
OAUTH_FRONT_LOG=info stack_up "$DIR" "$PORT" "$PLAN_PROOF_FRONT" "$(front_bin release)" --register-per-minute 600 \
  --client-auth-failures-per-minute 100000
set +e

part "security suite"
# Modules of the suite's one test program: a test runs when its name starts with one of them.
filters=(); for t in "${SECURITY_TESTS[@]}"; do filters+=("$t::"); done
OAUTH_TEST_PGHOST="$DIR/cluster/sock" OAUTH_TEST_PGPORT=$PORT \
  cargo test "${E2E_CRATES[@]}" --test e2e -- --test-threads=4 "${filters[@]}" >target/proof-security.log 2>&1 \
  || failed+=("security suite")
read -r PASSED FAILED < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' target/proof-security.log)
THREATS=$(grep -c '^#\[test\]' pgrx-tests/tests/e2e/threats.rs)
echo "$PASSED passed, $FAILED failed"

part "cargo fuzz, $FUZZ_SECONDS s per target"
bash scripts/fuzz.sh || failed+=("cargo fuzz")

part "HTTP fuzz, $HTTP_FUZZ_EXAMPLES cases per operation and phase"
bash scripts/http-fuzz.sh || failed+=("HTTP fuzz")

part "soak, $SOAK_CLIENTS clients for $SOAK_SECONDS s"
bash scripts/soak.sh || failed+=("soak")

part "faults"
FAULTS=$(cd e2e && PG_RESTART_CMD="bash ../scripts/cluster.sh restart $DIR/cluster" \
  node --test tests/faults.test.js 2>&1) || failed+=("faults")
echo "$FAULTS" | tail -5
FAULTS_JSON=$(echo "$FAULTS" | grep -o '# faults-summary .*' | sed 's/^# faults-summary //' | tail -1)

part "the front's log"
SERVER_ERRORS=$(grep '"status":5[0-9][0-9]' "$DIR/front.log" | grep -vc '"status":503')
UNAVAILABLE=$(grep -c '"status":503' "$DIR/front.log")
REQUESTS=$(grep -c '"status":' "$DIR/front.log")
[ "$SERVER_ERRORS" = 0 ] || failed+=("5xx in the front's log")

python3 - "$PASSED" "$FAILED" "$THREATS" "${FAULTS_JSON:-{\}}" "$SERVER_ERRORS" "$UNAVAILABLE" "$REQUESTS" \
  "$(git rev-parse --short HEAD)" "$(nproc)" "${failed[*]:-}" <<'PY' >target/proof.md
import json, sys
passed, failed_tests, threats, faults, server_errors, unavailable, requests, commit, cores, failed = sys.argv[1:]
faults = json.loads(faults)
read = lambda p: open(p).read().strip() if __import__("os").path.exists(p) else "(did not run)"
print(f"Proof run at commit {commit} on {cores} cores: {'all passed' if not failed else 'FAILED: ' + failed}.\n")
print(f"**Security suite**: {threats} threat tests (`pgrx-tests/tests/e2e/threats.rs`) and the rule files "
      f"the threat table cites: {passed} tests passed, {failed_tests} failed.\n")
print("**cargo fuzz** (libFuzzer + AddressSanitizer):\n\n" + read("target/fuzz-summary.md") + "\n")
print("**" + read("target/http-fuzz-summary.md").replace(":", ":**", 1) + "\n")
print("**" + read("target/soak-summary.md").replace(":", ":**", 1) + "\n")
if faults:
    print("**Faults** (`e2e/tests/faults.test.js`, 6 clients redeeming codes and rotating refresh tokens):\n")
    print("| faults | value |\n|---|---|")
    print(f"| backends killed / Postgres restarts | {faults['killed']} / {faults['restarts']} |")
    print(f"| refreshes / complete flows / statuses seen | {faults['refreshes']} / {faults['flows']} / "
          + ", ".join(f"{k}×{v}" for k, v in faults["statuses"].items()) + " |")
    print(f"| codes redeemed twice | {faults['doubleRedeemed']} |")
    print(f"| live families with other than one unused refresh token | {faults['halfRotated']} |")
    print(f"| the front serves again by itself | {'yes' if faults['recovered'] else 'no'} |\n")
else:
    print("**Faults**: did not complete.\n")
print(f"**The front's log** over the whole run: {requests} requests, {server_errors} answered 5xx other "
      f"than 503, {unavailable} answered 503 (the database was down on purpose).")
PY
cat target/proof.md
[ ${#failed[@]} = 0 ]
