#!/usr/bin/env bash
# make package: Debian packages of the extension, one per PostgreSQL major, and of oauth-front,
# into target/packages/ (docs/packaging.md):
#   postgresql-<major>-oauth-server_<version>-<rev>_amd64.deb   for each major in PG_MAJORS
#   oauth-front_<version>-<rev>_amd64.deb
# Usage: bash scripts/package.sh [extension|front|all]   (default all)
#   PG_MAJORS="15 17 18"    the majors (each needs its pg_config: scripts/lib.sh)
#   PACKAGE_OUT=…           where the .deb files go (default target/packages)
#   PACKAGE_STAGED=1        package the release builds this run already staged (scripts/test.sh's
#                           install stages: scripts/lib.sh's extension_stage) instead of building
# Release builds (Cargo.toml's release profile: fat LTO, one codegen unit): the dependencies
# are built once and shared by every major; only pgrx and the extension are rebuilt per major.
# Each major's build is staged by cargo pgrx package (extension_stage, scripts/lib.sh);
# scripts/test.sh stages and installs it before its suites run and packages that same stage.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
WHAT=${1:-all}
PG_MAJORS=${PG_MAJORS:-$SUPPORTED_PG_MAJORS}
OUT=${PACKAGE_OUT:-$PWD/target/packages}
REVISION=1
ARCH=amd64
MAINTAINER=${PACKAGE_MAINTAINER:-oauth_server maintainers <maintainers@users.noreply.b-seed-3326acbd.example>}
# No public home page yet: the field is written when one is given.
HOMEPAGE=${PACKAGE_HOMEPAGE:-}
cargo_version() { sed -n 's/^version = "\(.*\)"$/\1/p' "$1" | head -1; }
EXT_VERSION=$(cargo_version Cargo.toml)-$REVISION
FRONT_VERSION=$(cargo_version front/Cargo.toml)-$REVISION
# Reproducible: file dates, the changelog's and the man page's dates are the last commit's.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
log() { printf '\033[1m[package]\033[0m %s\n' "$*"; }

# The Depends of the shared objects in $@ (libc6, libgcc-s1, …), as dpkg-shlibdeps finds them
# from the libraries they link. It wants a debian/control to exist.
shlib_depends() {
  mkdir -p "$WORK/shlibdeps/debian"
  printf 'Source: x\n\nPackage: x\nArchitecture: any\n' >"$WORK/shlibdeps/debian/control"
  (cd "$WORK/shlibdeps" && dpkg-shlibdeps -O --warnings=0 "${@/#/-e}" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
}

# The Debian changelog of $1 (source name) at version $2: the entry of packaging/changelog,
# whose top entry must be this version (a release adds its entry there).
changelog() {
  local name=$1 version=$2 file=$3
  head -1 "$file" | grep -q "^$name ($version) " \
    || { echo "$file: the top entry is not $name ($version): add one for this release" >&2; exit 1; }
  gzip -9n <"$file"
}

# Common to both: doc files, md5sums, sizes, modes, then dpkg-deb.
finish_deb() {
  local root=$1 package=$2 version=$3 changelog_file=$4 source=$5 overrides=$6 cargo_package=$7
  shift 7
  local doc="$root/usr/share/doc/$package"
  mkdir -p "$doc" "$root/usr/share/lintian/overrides"
  # The lintian tags left on purpose, each with its reason (docs/packaging.md#lintian).
  sed "s/@PACKAGE@/$package/g" "$overrides" >"$root/usr/share/lintian/overrides/$package"
  changelog "$source" "$version" "$changelog_file" >"$doc/changelog.Debian.gz"
  python3 packaging/copyright.py "$cargo_package" "$@" >"$doc/copyright"
  find "$root" -type d -exec chmod 755 {} +
  find "$root" -path "$root/DEBIAN" -prune -o -type f -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
    | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
  chmod 644 "$root/DEBIAN/md5sums"
  local size
  size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  sed -i "s/@INSTALLED_SIZE@/$size/" "$root/DEBIAN/control"
  dpkg-deb --root-owner-group -Zxz --build "$root" "$OUT/${package}_${version}_$ARCH.deb" >/dev/null
  log "$OUT/${package}_${version}_$ARCH.deb"
}

control_fields() {  # the fields every package shares, after Package and Version
  echo "Architecture: $ARCH"
  echo "Maintainer: $MAINTAINER"
  echo "Installed-Size: @INSTALLED_SIZE@"
  [ -z "$HOMEPAGE" ] || echo "Homepage: $HOMEPAGE"
}

# postgresql-<major>-oauth-server: cargo pgrx package writes the files under the directories of
# that major's pg_config (for 17 and 18 here, /opt/oauth_server/pgNN/…); the package puts them
# where Debian's (and apt.postgresql.org's) postgresql-<major> reads them.
extension_deb() {
  local major=$1 pg_config package stage root t0
  pg_config=$(pg_config_for "$major")
  [ -x "$pg_config" ] || { echo "no PostgreSQL $major at $pg_config (scripts/install-prereqs.sh)" >&2; exit 2; }
  package=postgresql-$major-oauth-server
  stage=$(extension_stage_dir "$major")
  if [ "${PACKAGE_STAGED:-0}" = 1 ]; then
    log "PostgreSQL $major: the release build staged in $stage (built and tested by this run)"
  else
    t0=$(date +%s)
    extension_stage "$major"
    log "cargo pgrx package for PostgreSQL $major: $(($(date +%s) - t0)) s"
  fi
  root="$WORK/$package"
  mkdir -p "$root/DEBIAN" "$root/usr/lib/postgresql/$major/lib" "$root/usr/share/postgresql/$major/extension"
  # Debian strips shared objects of their debugging symbols (policy 10.1); the exported
  # symbols Postgres calls stay.
  strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    -o "$root/usr/lib/postgresql/$major/lib/oauth_server.so" "$stage$("$pg_config" --pkglibdir)/oauth_server.so"
  chmod 644 "$root/usr/lib/postgresql/$major/lib/oauth_server.so"
  install -m 644 "$stage$("$pg_config" --sharedir)"/extension/oauth_server* "$root/usr/share/postgresql/$major/extension/"
  {
    echo "Package: $package"
    echo "Version: $EXT_VERSION"
    control_fields
    echo "Depends: postgresql-$major, $(shlib_depends "$root/usr/lib/postgresql/$major/lib/oauth_server.so")"
    sed "s/@MAJOR@/$major/g" packaging/extension.control
  } >"$root/DEBIAN/control"
  # shellcheck disable=SC2046
  finish_deb "$root" "$package" "$EXT_VERSION" packaging/changelog postgresql-oauth-server \
    packaging/extension.lintian-overrides oauth_server $(PG_MAJOR=$major pg_features)
}

# oauth-front: the release binary, its systemd unit, the environment file (a conffile), the man
# page, and the maintainer scripts that make its user.
front_deb() {
  local package=oauth-front root="$WORK/oauth-front" t0
  t0=$(date +%s)
  cargo_release build --release -p oauth-front
  log "cargo build --release -p oauth-front: $(($(date +%s) - t0)) s"
  mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/oauth-front" \
    "$root/usr/share/man/man1"
  strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    -o "$root/usr/bin/oauth-front" "$(front_bin release)"
  chmod 755 "$root/usr/bin/oauth-front"
  install -m 644 packaging/oauth-front.service "$root/lib/systemd/system/oauth-front.service"
  # Root only: it may hold the database password (systemd reads it before dropping privileges).
  install -m 600 packaging/oauth-front.env "$root/etc/oauth-front/env"
  # In an empty environment: --help shows each option's environment value when it is set, and
  # the builder's (a test stack's DATABASE_URL, say) has no place in the man page.
  env -i PATH="$PATH" LANG=C.UTF-8 help2man --no-info --section=1 --include=packaging/oauth-front.h2m \
    --name="HTTP front of the oauth_server PostgreSQL extension" \
    "$root/usr/bin/oauth-front" | gzip -9n >"$root/usr/share/man/man1/oauth-front.1.gz"
  for s in postinst prerm postrm; do install -m 755 "packaging/oauth-front.$s" "$root/DEBIAN/$s"; done
  echo /etc/oauth-front/env >"$root/DEBIAN/conffiles"
  chmod 644 "$root/DEBIAN/conffiles"
  {
    echo "Package: $package"
    echo "Version: $FRONT_VERSION"
    control_fields
    echo "Depends: adduser, $(shlib_depends "$root/usr/bin/oauth-front")"
    cat packaging/front.control
  } >"$root/DEBIAN/control"
  finish_deb "$root" "$package" "$FRONT_VERSION" packaging/oauth-front.changelog oauth-front \
    packaging/oauth-front.lintian-overrides oauth-front
}

case "$WHAT" in
  extension) for m in $PG_MAJORS; do extension_deb "$m"; done ;;
  front) front_deb ;;
  all) for m in $PG_MAJORS; do extension_deb "$m"; done; front_deb ;;
  *) echo "usage: $0 [extension|front|all]" >&2; exit 2 ;;
esac
