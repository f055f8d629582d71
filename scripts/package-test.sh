#!/usr/bin/env bash
# Installs the packages scripts/package.sh built (make package) with dpkg and uses them; see
# docs/packaging.md#how-the-packages-are-tested. As root. For each major in PG_MAJORS:
#   - the package holds exactly the files Debian's layout wants (the library, the control file,
#     the install script and every upgrade script in sql/, the copyright and changelog);
#   - its Depends: apt resolves it against this machine (15), or only postgresql-<major> is
#     missing (17 and 18 run from /opt here, not from Debian packages);
#   - `dpkg -i` into a scratch root whose package database is a copy of this machine's, so the
#     dependencies are judged against what is really installed, and the real /usr, where other
#     tests' builds of the extension live, is not touched; `dpkg --verify`;
#   - a clean cluster of that major whose server sees, in a private mount namespace, the
#     package's files at its own $libdir and extension directory (only there: other clusters on
#     the machine see nothing): CREATE EXTENSION, one complete flow, and oauth-front (from its
#     package) answering discovery and JWKS from it;
#   - `dpkg -r`: every file the package listed is gone, nothing of oauth_server is left.
# oauth-front's package is installed on the real root (a service package is about /etc, the
# unit and the user): its user, the unit (systemd-analyze verify), --help, the env file as a
# conffile covering every flag, `dpkg -r` keeping the edited conffile and `--purge` removing it.
# Last, lintian on every package (errors and warnings fail; the overrides are in the packages).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
PG_MAJORS=${PG_MAJORS:-$SUPPORTED_PG_MAJORS}
PKG=${PACKAGE_OUT:-$PWD/target/packages}
WORK=${OAUTH_PACKAGE_TEST_DIR:-$TEST_ROOT/package}
PORT=${OAUTH_PACKAGE_TEST_PORT:-$PLAN_PACKAGE_PG}
FRONT_PORT=$((PORT + 1))
[ "$(id -u)" = 0 ] || { echo "package-test.sh runs dpkg and mount: run it as root" >&2; exit 2; }
# One run at a time on a machine: oauth-front's package goes to the real root.
exec 9>/tmp/oauth_server-package-test.lock
flock 9
cargo_version() { sed -n 's/^version = "\(.*\)"$/\1/p' "$1" | head -1; }
CURRENT=$(cargo_version Cargo.toml)
EXT_VERSION=$CURRENT-1
FRONT_VERSION=$(cargo_version front/Cargo.toml)-1
FRONT_DEB=$PKG/oauth-front_${FRONT_VERSION}_amd64.deb
user_existed=yes FRONT_INSTALLED=
log() { printf '\033[1m[package-test]\033[0m %s\n' "$*"; }
fail() { echo "package-test: $*" >&2; exit 1; }
PSQL=$(pg_tool psql)

cleanup() {
  [ -n "${FRONT_PID:-}" ] && kill "$FRONT_PID" 2>/dev/null || true
  # A failed run leaves the machine as it found it too.
  if [ "${FRONT_INSTALLED:-}" = 1 ]; then
    dpkg --purge oauth-front >/dev/null 2>&1 || true
    [ "$user_existed" = yes ] || deluser --system --quiet oauth-front >/dev/null 2>&1 || true
  fi
  for m in $PG_MAJORS; do
    PG_CONFIG=$(pg_config_for "$m") bash scripts/cluster.sh stop "$WORK/cluster-$m" 2>/dev/null || true
  done
}
trap cleanup EXIT
for m in $PG_MAJORS; do
  PG_CONFIG=$(pg_config_for "$m") bash scripts/cluster.sh stop "$WORK/cluster-$m" 2>/dev/null || true
done
rm -rf "$WORK" && mkdir -p "$WORK" && chmod 755 "$WORK"
for f in "$FRONT_DEB" $(for m in $PG_MAJORS; do echo "$PKG/postgresql-$m-oauth-server_${EXT_VERSION}_amd64.deb"; done); do
  [ -f "$f" ] || fail "$f missing: run make package first"
done

# --- oauth-front, on the real root --------------------------------------------------------
dpkg-query -W -f='${Status}' oauth-front 2>/dev/null | grep -q installed \
  && fail "oauth-front is installed on this machine: the test installs and purges it, remove it first"
user_existed=$(getent passwd oauth-front >/dev/null && echo yes || echo no)
FRONT_INSTALLED=1
dpkg -i "$FRONT_DEB" >/dev/null
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd oauth-front) || fail "postinst made no user oauth-front"
[ "$uid" -lt 1000 ] && [ "$home" = /nonexistent ] && [ "$shell" = /usr/sbin/nologin ] \
  || fail "oauth-front is not a system user without home and shell: uid $uid home $home shell $shell"
/usr/bin/oauth-front --version | grep -qx "oauth-front ${FRONT_VERSION%-1}" || fail "oauth-front --version"
/usr/bin/oauth-front --help >"$WORK/front-help.txt"
# Strict: a directive systemd ignores (a misspelt hardening option) is only a warning there.
systemd-analyze verify /lib/systemd/system/oauth-front.service >"$WORK/verify.txt" 2>&1 \
  && [ ! -s "$WORK/verify.txt" ] || { cat "$WORK/verify.txt"; fail "systemd-analyze verify oauth-front.service"; }
[ "$(dpkg-query -W -f='${Conffiles}' oauth-front | awk '{print $1}')" = /etc/oauth-front/env ] \
  || fail "/etc/oauth-front/env is not the conffile"
[ "$(stat -c '%a %U' /etc/oauth-front/env)" = "600 root" ] || fail "/etc/oauth-front/env is not root's, mode 600"
# Every variable of --help is in the env file, and nothing there is not a variable of --help
# (OAUTH_FRONT_LOG, read by the logger, aside).
# (`[env: NAME=value]`, or `[env: NAME]` for the connection strings, whose values are hidden.)
grep -o '\[env: [A-Z_]*[]=]' "$WORK/front-help.txt" | sed 's/\[env: //; s/[]=]$//' | sort -u >"$WORK/help-vars"
sed -n 's/^#\{0,1\}\([A-Z_]*\)=.*/\1/p' /etc/oauth-front/env | grep -vx OAUTH_FRONT_LOG | sort -u >"$WORK/env-vars"
diff "$WORK/help-vars" "$WORK/env-vars" || fail "/etc/oauth-front/env and oauth-front --help name different variables"
man --warnings -l /usr/share/man/man1/oauth-front.1.gz >/dev/null 2>"$WORK/man.err" || true
[ ! -s "$WORK/man.err" ] || { cat "$WORK/man.err"; fail "the man page has errors"; }
# Built in whatever environment (this test's stack exports DATABASE_URL): no value leaks in.
if zcat /usr/share/man/man1/oauth-front.1.gz | grep -E '\[env: [A-Z_]+=[^]]'; then
  fail "the man page shows an environment value of the machine that built it"
fi
log "oauth-front $FRONT_VERSION: user oauth-front, unit verified, --help, conffile with every variable, man page"

# --- the extension, per major -------------------------------------------------------------
psql_in() { local m=$1; shift; "$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$WORK/cluster-$m/sock" -p "$PORT" -U postgres "$@"; }
for m in $PG_MAJORS; do
  package=postgresql-$m-oauth-server
  deb=$PKG/${package}_${EXT_VERSION}_amd64.deb
  pg_config=$(pg_config_for "$m")
  pkglibdir=$("$pg_config" --pkglibdir)
  extdir=$("$pg_config" --sharedir)/extension

  # Exactly the files Debian's layout wants: the upgrade scripts of sql/ included.
  {
    echo "./usr/lib/postgresql/$m/lib/oauth_server.so"
    echo "./usr/share/postgresql/$m/extension/oauth_server.control"
    echo "./usr/share/postgresql/$m/extension/oauth_server--$CURRENT.sql"
    for f in sql/oauth_server--*--*.sql; do echo "./usr/share/postgresql/$m/extension/${f#sql/}"; done
    echo "./usr/share/doc/$package/changelog.Debian.gz"
    echo "./usr/share/doc/$package/copyright"
    echo "./usr/share/lintian/overrides/$package"
  } | sort >"$WORK/expected-$m"
  dpkg-deb --fsys-tarfile "$deb" | tar -t | grep -v '/$' | sort >"$WORK/files-$m"
  diff "$WORK/expected-$m" "$WORK/files-$m" || fail "$deb does not hold the expected files"
  dpkg-deb -f "$deb" Depends | grep -q "^postgresql-$m, " || fail "$deb does not depend on postgresql-$m"
  dpkg-deb -f "$deb" Depends >"$WORK/depends-$m"

  # Would apt install it here? 15: yes. 17 and 18: only postgresql-<major> is missing.
  if [ "$m" = 15 ]; then
    apt-get install -s "$deb" >"$WORK/apt-$m.log" 2>&1 || { cat "$WORK/apt-$m.log"; fail "apt cannot install $deb"; }
  else
    ! apt-get install -s "$deb" >"$WORK/apt-$m.log" 2>&1 || fail "apt installs $deb without postgresql-$m?"
    grep -q "Depends: postgresql-$m but it is not installable" "$WORK/apt-$m.log" || { cat "$WORK/apt-$m.log"; fail "apt refuses $deb for another reason"; }
    [ "$(grep -c 'Depends:' "$WORK/apt-$m.log")" = 1 ] || { cat "$WORK/apt-$m.log"; fail "$deb has other unmet dependencies"; }
  fi

  # dpkg -i into a scratch root with this machine's package database.
  root=$WORK/root-$m
  mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
  # The machine's records of the packages it depends on (dpkg checks only direct dependencies):
  # whatever of them is installed here counts as installed in the scratch root.
  for dep in $(tr ',' '\n' <"$WORK/depends-$m" | sed 's/(.*//; s/[[:space:]]//g'); do
    dpkg-query -s "$dep" 2>/dev/null | grep -q '^Status: install ok installed' || continue
    dpkg-query -s "$dep"; echo
    : >"$root/var/lib/dpkg/info/$(dpkg-query -W -f='${binary:Package}' "$dep").list"
  done >"$root/var/lib/dpkg/status"
  touch "$root/var/lib/dpkg/available"
  force=()
  [ "$m" = 15 ] || force=(--force-depends)
  dpkg --root="$root" --force-script-chrootless "${force[@]}" -i "$deb" >"$WORK/dpkg-$m.log" 2>&1 \
    || { cat "$WORK/dpkg-$m.log"; fail "dpkg -i $deb"; }
  if [ "$m" != 15 ]; then  # the only dependency problem dpkg saw is postgresql-<major>
    grep 'depends on' "$WORK/dpkg-$m.log" | grep -v "depends on postgresql-$m;" && fail "dpkg: other dependency problems"
  fi
  dpkg --root="$root" --verify "$package" || fail "dpkg --verify $package: files differ from md5sums"
  dpkg --root="$root" -L "$package" >"$WORK/listed-$m"

  # A clean cluster whose server sees the package's files at its own directories.
  cluster=$WORK/cluster-$m
  mkdir -p "$cluster" && chown postgres:postgres "$cluster"
  # initdb with the server's own extension directory (it creates plpgsql), then the server runs
  # with only the package's.
  PG_CONFIG=$pg_config bash scripts/cluster.sh start "$cluster" "$PORT"
  PG_CONFIG=$pg_config bash scripts/cluster.sh stop "$cluster"
  unshare --mount --propagation private bash -c '
    set -e
    mount -t overlay overlay -o "lowerdir=$1/usr/lib/postgresql/$2/lib:$3" "$3"
    mount --bind "$1/usr/share/postgresql/$2/extension" "$4"
    PG_CONFIG=$5 bash scripts/cluster.sh start "$6" "$7"
  ' _ "$root" "$m" "$pkglibdir" "$extdir" "$pg_config" "$cluster" "$PORT"
  pm=$(head -1 "$cluster/data/postmaster.pid")
  cmp "/proc/$pm/root$pkglibdir/oauth_server.so" "$root/usr/lib/postgresql/$m/lib/oauth_server.so" \
    || fail "the server does not see the package's library"
  [ "$(ls "/proc/$pm/root$extdir")" = "$(ls "$root/usr/share/postgresql/$m/extension")" ] \
    || fail "the server's extension directory is not the package's"
  mountpoint -q "$pkglibdir" && fail "the package's files leaked out of the test's mount namespace"

  psql_in "$m" -d postgres -v current="$CURRENT" -v major="$m" <<'SQL'
\set ON_ERROR_STOP 1
CREATE EXTENSION oauth_server;
SELECT extversion = :'current' AS right_version FROM pg_extension WHERE extname = 'oauth_server' \gset
\if :right_version
\else
  SELECT 'CREATE EXTENSION did not install the package''s version'::int;
\endif
SELECT current_setting('server_version_num')::int / 10000 = :major AS right_major \gset
\if :right_major
\else
  SELECT 'the cluster is not of the major under test'::int;
\endif
-- One complete flow: a client, authorize, consent, code exchange, refresh, verify.
SELECT c->>'client_id' AS cid, c->>'client_secret' AS secret
  FROM oauth.create_client('Package test', ARRAY['https://app.example/cb']) c \gset
SELECT split_part(split_part(oauth.authorize(jsonb_build_object('client_id', :'cid',
  'redirect_uri', 'https://app.example/cb', 'response_type', 'code', 'scope', 'openid',
  'state', 's', 'code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  'code_challenge_method', 'S256'))->>'redirect_to', 'authorization_id=', 2), '&', 1) AS aid \gset
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "package-user", "role": "authenticated"}', true) AS claims_set \gset
SELECT split_part(split_part(oauth.consent(:'aid', true)->>'redirect_to', 'code=', 2), '&', 1) AS code \gset
COMMIT;
SELECT t->>'refresh_token' AS rt, t ? 'id_token' AS has_id_token
  FROM oauth.exchange_code(:'code', 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
                           'https://app.example/cb', :'cid', :'secret') t \gset
SELECT t->>'access_token' AS at FROM oauth.refresh(:'rt', :'cid', :'secret') t \gset
SELECT oauth.verify(:'at')->>'sub' = 'package-user' AND :'has_id_token' AS flow_ok \gset
\if :flow_ok
\else
  SELECT 'the flow did not end with a verified access token of the user'::int;
\endif
SQL

  # oauth-front from its package, as its user, against this cluster: discovery and keys.
  runuser -u oauth-front -- env DATABASE_URL="postgresql://postgres@127.0.0.1:$PORT/postgres" \
    OAUTH_FRONT_LISTEN="127.0.0.1:$FRONT_PORT" OAUTH_FRONT_PURGE_INTERVAL=0 \
    OAUTH_FRONT_JWKS_REFRESH_INTERVAL=0 /usr/bin/oauth-front >"$WORK/front-$m.log" 2>&1 &
  FRONT_PID=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$FRONT_PORT/.well-known/openid-configuration" >"$WORK/discovery-$m.json" && break; sleep 0.1; done
  grep -q '"issuer"' "$WORK/discovery-$m.json" || { cat "$WORK/front-$m.log"; fail "oauth-front did not answer discovery"; }
  jwks=$(sed -n 's/.*"jwks_uri":"\([^"]*\)".*/\1/p' "$WORK/discovery-$m.json")
  curl -sf "http://127.0.0.1:$FRONT_PORT/${jwks#*://*/}" | grep -q '"keys":\[{' \
    || fail "oauth-front did not answer its JWKS ($jwks) with a key"
  kill "$FRONT_PID"; wait "$FRONT_PID" 2>/dev/null || true; FRONT_PID=

  PG_CONFIG=$pg_config bash scripts/cluster.sh stop "$cluster"

  # dpkg -r: nothing of it is left.
  dpkg --root="$root" -r "$package" >/dev/null
  dpkg-query --root="$root" -W -f='${Status}' "$package" 2>/dev/null | grep -q ' installed' && fail "$package still installed"
  while read -r f; do
    [ -d "$root$f" ] && continue
    [ -e "$root$f" ] && fail "dpkg -r left $f"
  done <"$WORK/listed-$m"
  left=$(find "$root" -path "$root/var" -prune -o \( -name 'oauth_server*' -o -name "$package" \) -print | head -5)
  [ -z "$left" ] || fail "dpkg -r left: $left"
  log "PostgreSQL $m: $package $EXT_VERSION installed by dpkg ($(cat "$WORK/depends-$m")), CREATE EXTENSION, a complete flow, oauth-front's discovery and JWKS, dpkg -r left nothing"
done

# --- oauth-front: remove keeps the edited conffile, purge removes it ---------------------
echo "OAUTH_FRONT_LOG_FORMAT=text" >>/etc/oauth-front/env
dpkg -r oauth-front >/dev/null
[ ! -e /usr/bin/oauth-front ] && [ ! -e /lib/systemd/system/oauth-front.service ] || fail "dpkg -r left the binary or the unit"
grep -q '^OAUTH_FRONT_LOG_FORMAT=text' /etc/oauth-front/env || fail "dpkg -r did not keep the edited conffile"
dpkg --purge oauth-front >/dev/null
[ ! -e /etc/oauth-front ] || fail "dpkg --purge left /etc/oauth-front"
dpkg-query -W -f='${Status}' oauth-front 2>/dev/null | grep -q installed && fail "oauth-front still known to dpkg"
# The package keeps its system user on purge (as Debian does); the test leaves the machine as
# it found it.
[ "$user_existed" = yes ] || deluser --system --quiet oauth-front >/dev/null 2>&1 || true
FRONT_INSTALLED=
log "oauth-front: dpkg -r kept the edited /etc/oauth-front/env, --purge removed it"

# --- lintian ----------------------------------------------------------------------------------
# shellcheck disable=SC2046 # one word per package
lintian --fail-on error,warning --tag-display-limit 0 --display-info --pedantic "$FRONT_DEB" \
  $(for m in $PG_MAJORS; do echo "$PKG/postgresql-$m-oauth-server_${EXT_VERSION}_amd64.deb"; done) \
  2> >(grep -v 'running with root privileges' >&2) | tee "$WORK/lintian.txt"
log "lintian: no errors or warnings ($(grep -c '^[IP]:' "$WORK/lintian.txt" || true) info and pedantic tags, explained in docs/packaging.md#lintian)"
