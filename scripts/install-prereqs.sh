#!/usr/bin/env bash
# Installs everything the build and the tests need, idempotently: each step checks
# first and skips what is already present at the right version.
set -euo pipefail

PGRX_VERSION=0.18.0
PG_MAJOR=15
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}

log() { printf '\033[1m[prereqs]\033[0m %s\n' "$*"; }

need_apt=()
# chromium: the headless browser test of the consent page (Debian's, driven by Playwright).
# postgresql-15-auto-failover: pg_autoctl for the failover test (scripts/failover-test.sh).
for pkg in postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR libclang-dev clang sudo pkg-config libssl-dev chromium openssl postgresql-$PG_MAJOR-auto-failover; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
# Downloads (apt, npm, pip) wait on the network and cargo-pgrx's build on the CPU: on a bare
# machine they run side by side, and the script waits for both before going on.
APT_LOG=$(mktemp)
if ((${#need_apt[@]})); then
  log "apt-get install ${need_apt[*]} (in the background)"
  (
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  ) >"$APT_LOG" 2>&1 &
  APT_PID=$!
else
  log "apt packages present"
  APT_PID=
fi

if command -v cargo-pgrx >/dev/null && cargo pgrx --version 2>/dev/null | grep -q " $PGRX_VERSION\$"; then
  log "cargo-pgrx $PGRX_VERSION present"
else
  log "cargo install cargo-pgrx $PGRX_VERSION (takes a few minutes)"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
fi

if [ -n "$APT_PID" ]; then
  wait "$APT_PID" || { cat "$APT_LOG"; log "apt-get failed"; exit 1; }
  log "apt packages installed"
fi
rm -f "$APT_LOG"

PGRX_HOME=${PGRX_HOME:-$HOME/.pgrx}
if grep -qs "pg$PG_MAJOR = \"$PG_CONFIG\"" "$PGRX_HOME/config.toml"; then
  log "cargo pgrx init already points pg$PG_MAJOR at $PG_CONFIG"
else
  log "cargo pgrx init --pg$PG_MAJOR $PG_CONFIG"
  cargo pgrx init --pg$PG_MAJOR "$PG_CONFIG"
fi

# Node packages of the end-to-end tests and the HTTP benchmark (openid-client, playwright-core,
# oidc-provider), pinned by e2e/package-lock.json; skipped when the lock file is unchanged.
if [ -f e2e/node_modules/.package-lock.json ] && cmp -s e2e/package-lock.json e2e/node_modules/.lock-installed; then
  log "e2e node packages present"
else
  log "npm ci (e2e)"
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.lock-installed)
fi

# schemathesis (PyPI), pinned, in its own virtualenv: the HTTP fuzz of the front.
SCHEMATHESIS_VERSION=4.32.5
VENV=${OAUTH_TOOLS_DIR:-$HOME/.local/share/oauth_server}/venv
if "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q " $SCHEMATHESIS_VERSION\$"; then
  log "schemathesis $SCHEMATHESIS_VERSION present"
else
  log "pip install schemathesis==$SCHEMATHESIS_VERSION"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# The extension is installed into the system PostgreSQL's directories; the test
# clusters run as user postgres, which must be able to read the build tree.
id postgres >/dev/null 2>&1 || { log "user postgres missing"; exit 1; }
log "done"
