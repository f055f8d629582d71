#!/usr/bin/env bash
# Installs everything the build and the tests need, idempotently: each step checks
# first and skips what is already present at the right version.
#   PG_MAJORS="15 17 18" (the default): the PostgreSQL majors to install (docs/testing.md#postgresql-majors)
#     15  Debian 12's packages (always: the default build, clippy and the psql client are 15's)
#     17  scripts/postgres/postgresql-17.sh into $OAUTH_PG_PREFIX/pg17 (npm's server + trixie's
#         headers; its client programs are 18's, so 17 brings 18)
#     18  scripts/postgres/postgresql-18.sh into $OAUTH_PG_PREFIX/pg18 (built from Debian's source)
#   OAUTH_PG_PREFIX (default /opt/oauth_server): where 17 and 18 live (user postgres must be able
#     to enter it: not under /root).
# On a bare machine the network waits (apt, npm, pip, the 17 download) and the CPU work
# (cargo-pgrx's build, PostgreSQL 18's build) run side by side: apt first, then 17 and 18 beside
# cargo-pgrx's build, while npm and pip download; cargo pgrx init runs once at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
OAUTH_LIB_NO_SELECT=1 source scripts/lib.sh

PGRX_VERSION=0.18.0
PG_MAJORS=${PG_MAJORS:-$SUPPORTED_PG_MAJORS}
majors="15"
for m in $PG_MAJORS; do
  pg_config_for "$m" >/dev/null || exit 2
  [ "$m" = 15 ] || majors+=" $m"
done
# 17's build has server programs only: its client programs (psql, pg_dump, …) are 18's.
[[ " $majors " == *" 17 "* && " $majors " != *" 18 "* ]] && majors+=" 18"

log() { printf '\033[1m[prereqs]\033[0m %s\n' "$*"; }
# One run at a time on a machine (two would trip over apt's lock, npm ci's node_modules and
# cargo install): a second run waits for the first, then finds everything present.
exec 8>/tmp/oauth_server-install-prereqs.lock
if ! flock -n 8; then log "another install-prereqs.sh is running: waiting for it"; flock 8; fi
LOGS=$(mktemp -d)
# A run that fails (set -e) still waits for its background jobs (apt, the PostgreSQL builds,
# cargo install): nothing it started outlives it, and no apt is cut off halfway.
trap 'wait; rm -rf "$LOGS"' EXIT

# The majors not yet in their prefix, and what building them needs from apt.
build=()
for m in $majors; do
  [ "$m" = 15 ] && continue
  if bash "scripts/postgres/postgresql-$m.sh" --check "$OAUTH_PG_PREFIX/pg$m" >/dev/null; then
    log "PostgreSQL $m present in $OAUTH_PG_PREFIX/pg$m"
  else
    build+=("$m")
  fi
done

apt_pkgs=(postgresql-15 postgresql-server-dev-15 libclang-dev clang sudo pkg-config libssl-dev chromium openssl
  postgresql-15-auto-failover lintian help2man)  # lintian, help2man: make package (docs/packaging.md)
# chromium: the headless browser test of the consent page (Debian's, driven by Playwright).
# postgresql-15-auto-failover: pg_autoctl for the failover test (scripts/failover-test.sh).
# PostgreSQL 18's build (scripts/postgres/postgresql-18.sh), in the same apt-get.
[[ " ${build[*]} " == *" 18 "* ]] && apt_pkgs+=(build-essential flex bison libreadline-dev zlib1g-dev libcurl4-openssl-dev)
need_apt=()
for pkg in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done

# Background job 1: apt, then the missing PostgreSQL majors (18's build needs apt's compilers).
if ((${#need_apt[@]})); then log "apt-get install ${need_apt[*]} (in the background)"; else log "apt packages present"; fi
((${#build[@]})) && log "PostgreSQL ${build[*]} into $OAUTH_PG_PREFIX (in the background, after apt)"
(
  if ((${#need_apt[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_apt[@]}"; } >"$LOGS/apt" 2>&1 \
      || { cat "$LOGS/apt"; echo "apt-get failed"; exit 1; }
  fi
  pids=()
  for m in "${build[@]}"; do
    (
      start=$SECONDS
      bash "scripts/postgres/postgresql-$m.sh" "$OAUTH_PG_PREFIX/pg$m" >"$LOGS/pg$m" 2>&1 \
        || { cat "$LOGS/pg$m"; echo "PostgreSQL $m failed"; exit 1; }
      printf '\033[1m[prereqs]\033[0m PostgreSQL %s installed in %s (%ds)\n' "$m" "$OAUTH_PG_PREFIX/pg$m" $((SECONDS - start))
    ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
) &
SYSTEM_PID=$!

# Background job 2: cargo-pgrx (CPU).
if command -v cargo-pgrx >/dev/null && cargo pgrx --version 2>/dev/null | grep -q " $PGRX_VERSION\$"; then
  log "cargo-pgrx $PGRX_VERSION present"
  PGRX_PID=
else
  log "cargo install cargo-pgrx $PGRX_VERSION (in the background; takes a few minutes)"
  (cargo install cargo-pgrx --version "$PGRX_VERSION" --locked >"$LOGS/cargo-pgrx" 2>&1 \
    || { cat "$LOGS/cargo-pgrx"; echo "cargo install cargo-pgrx failed"; exit 1; }) &
  PGRX_PID=$!
fi

# In the foreground meanwhile: the downloads of npm and pip.
# Node packages of the end-to-end tests and the HTTP benchmark (openid-client, playwright-core,
# oidc-provider), pinned by e2e/package-lock.json; skipped when the lock file is unchanged. A
# copy per lock file is kept on the machine (OAUTH_NODE_MODULES_CACHE): a clean clone (CI's)
# copies it in a second or two instead of npm ci's ten.
NODE_MODULES_CACHE=${OAUTH_NODE_MODULES_CACHE:-/var/cache/oauth_server/node_modules}
lock_key=$(sha256sum e2e/package-lock.json | cut -c1-16)
if [ -f e2e/node_modules/.package-lock.json ] && cmp -s e2e/package-lock.json e2e/node_modules/.lock-installed; then
  log "e2e node packages present"
elif [ -f "$NODE_MODULES_CACHE/$lock_key/.lock-installed" ] \
  && cmp -s e2e/package-lock.json "$NODE_MODULES_CACHE/$lock_key/.lock-installed"; then
  log "e2e node packages copied from $NODE_MODULES_CACHE/$lock_key (the same package-lock.json)"
  rm -rf e2e/node_modules
  cp -a "$NODE_MODULES_CACHE/$lock_key" e2e/node_modules
else
  log "npm ci (e2e)"
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.lock-installed)
  # Kept whole or not at all: copied aside, then renamed into place.
  mkdir -p "$NODE_MODULES_CACHE"
  rm -rf "$NODE_MODULES_CACHE/$lock_key" "$NODE_MODULES_CACHE/$lock_key.partial"
  cp -a e2e/node_modules "$NODE_MODULES_CACHE/$lock_key.partial"
  mv -T "$NODE_MODULES_CACHE/$lock_key.partial" "$NODE_MODULES_CACHE/$lock_key"
  # Only the newest lock file's: 55 MB each.
  find "$NODE_MODULES_CACHE" -mindepth 1 -maxdepth 1 ! -name "$lock_key" -exec rm -rf {} +
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

failed=0
wait "$SYSTEM_PID" || failed=1
if [ -n "$PGRX_PID" ]; then
  if wait "$PGRX_PID"; then log "cargo-pgrx $PGRX_VERSION installed"; else failed=1; fi
fi
[ $failed = 0 ] || { log "failed"; exit 1; }
((${#need_apt[@]})) && log "apt packages installed"

# cargo pgrx init, once, with every major (it adds them to what ~/.pgrx/config.toml names).
PGRX_HOME=${PGRX_HOME:-$HOME/.pgrx}
init_args=() missing=()
for m in $majors; do
  c=$(pg_config_for "$m")
  init_args+=("--pg$m" "$c")
  grep -qsx "pg$m = \"$c\"" "$PGRX_HOME/config.toml" || missing+=("pg$m")
done
if ((${#missing[@]})); then
  log "cargo pgrx init ${init_args[*]}"
  cargo pgrx init "${init_args[@]}"
else
  log "cargo pgrx init already names $majors"
fi

# The extension is installed into each server's directories; the test clusters run as user
# postgres, which must be able to read the build tree.
id postgres >/dev/null 2>&1 || { log "user postgres missing"; exit 1; }
log "done"
