#!/usr/bin/env bash
# Builds asgid's packages into dist/ from the committed tree (HEAD, through `git archive`):
# uncommitted changes are not packaged, and the script says so.
#
# Usage: scripts/package.sh deb [bookworm|trixie]  a .deb for Debian 12 or 13 (default: this
#                                                   machine's release; trixie is built in the
#                                                   debootstrap root of scripts/test-trixie.sh,
#                                                   which needs root)
#        scripts/package.sh rpm                     a .rpm (asgid.spec, built with rpmbuild)
#        scripts/package.sh wheel                   scripts/build-wheel.sh
#        scripts/package.sh all                     deb (this release), rpm and wheel
#
# Principle: the version is CMakeLists.txt's project() version, the only one. debian/changelog
# is written from it (0.1.0+deb12 for Debian 12, +deb13 for Debian 13); the spec's Version must
# equal it or the build stops. The packages build no tests (CI ran them before packaging).
# Everything runs from main(), called on the last line.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/debian-root.sh
. "$here/scripts/lib/debian-root.sh"
dist=${ASGID_DIST_DIR:-$here/dist}
cache=${ASGID_TRIXIE_CACHE:-/var/cache/asgid}
work=""

die() { echo "package.sh: $*" >&2; exit 1; }

cleanup() {
  root_unmount_all
  if [ -n "$work" ]; then rm -rf "$work"; fi
}

project_version() {
  sed -n 's/^project(asgid VERSION \([0-9.]*\).*/\1/p' "$here/CMakeLists.txt"
}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The committed tree in $work/asgid-VERSION.
export_tree() {
  local version=$1
  if [ -n "$(git -C "$here" status --porcelain --untracked-files=no)" ]; then
    echo "package.sh: warning: the tree has uncommitted changes; packaging HEAD ($(git -C "$here" rev-parse --short HEAD)) without them" >&2
  fi
  mkdir -p "$work"
  git -C "$here" archive --format=tar --prefix="asgid-$version/" HEAD | tar -C "$work" -xf -
}

# debian/ in the exported tree: packaging/debian, the files dh_* pick up by name, and a
# changelog for VERSION on CODENAME.
prepare_debian_dir() { # prepare_debian_dir SRC VERSION CODENAME
  local src=$1 version=$2 codename=$3 suffix
  case "$codename" in
    bookworm) suffix=+deb12 ;;
    trixie) suffix=+deb13 ;;
    *) die "no .deb for '$codename' (bookworm or trixie)" ;;
  esac
  cp -r "$src/packaging/debian" "$src/debian"
  cp "$src/packaging/systemd/asgid.service" "$src/debian/asgid.service"
  cp "$src/packaging/systemd/asgid@.service" "$src/debian/asgid@.service"
  cp "$src/packaging/systemd/asgid.socket" "$src/debian/asgid.socket"
  cp "$src/packaging/sysusers/asgid.conf" "$src/debian/asgid.sysusers"
  cp "$src/packaging/logrotate/asgid" "$src/debian/asgid.logrotate"
  local commit date maintainer
  commit=$(git -C "$here" rev-parse --short HEAD)
  date=$(date -R -d "@$(git -C "$here" log -1 --format=%ct HEAD)")
  maintainer=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
  cat >"$src/debian/changelog" <<CHANGELOG
asgid ($version$suffix) $codename; urgency=medium

  * asgid $version for Debian ${suffix#+deb}, built by scripts/package.sh from commit
    $commit.

 -- $maintainer  $date
CHANGELOG
}

build_deb_here() { # build_deb_here SRC
  host_tools dpkg-buildpackage:dpkg-dev dh:debhelper fakeroot:fakeroot
  (cd "$1" && dpkg-checkbuilddeps) ||
    die "build dependencies missing: run scripts/install-deps.sh (or apt-get build-dep)"
  (cd "$1" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
     nice -n 10 dpkg-buildpackage -b -us -uc >"$work/dpkg-buildpackage.log" 2>&1) ||
    { tail -n 40 "$work/dpkg-buildpackage.log" >&2; die "dpkg-buildpackage failed (log above)"; }
}

# Debian 13: in scripts/test-trixie.sh's root (made here the same way when it is missing),
# under its lock, with debhelper added.
build_deb_trixie() { # build_deb_trixie SRC
  [ "$(id -u)" -eq 0 ] || die "the trixie .deb is built in a debootstrap root: run as root"
  host_tools debootstrap:debootstrap
  local root=$cache/trixie-root inside
  trixie_root_ready "$cache" "$here"
  root_copy_host_config "$root"
  root_mount_system "$root"
  inside=/work/package-$(printf '%s' "$here" | sha256sum | cut -c1-12)
  rm -rf "${root:?}$inside"
  mkdir -p "$root$inside"
  cp -a "$1" "$root$inside/"
  in_root "$root" "command -v dh >/dev/null || { apt-get update -qq &&
      apt-get install -y -qq --no-install-recommends debhelper dpkg-dev fakeroot >/dev/null; }
    cd $inside/$(basename "$1") && dpkg-checkbuilddeps &&
    DEB_BUILD_OPTIONS='nocheck parallel=$(nproc)' nice -n 10 dpkg-buildpackage -b -us -uc \
      >../dpkg-buildpackage.log 2>&1 || { tail -n 40 ../dpkg-buildpackage.log >&2; exit 1; }" ||
    die "dpkg-buildpackage failed in the trixie root"
  cp "$root$inside"/*.deb "$work/"
  rm -rf "${root:?}$inside"
  root_unmount_all
}

package_deb() { # package_deb [CODENAME]
  local version codename host src
  version=$(project_version)
  host=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  codename=${1:-$host}
  export_tree "$version"
  src=$work/asgid-$version
  prepare_debian_dir "$src" "$version" "$codename"
  echo "=== deb: asgid $version for $codename"
  if [ "$codename" = "$host" ]; then
    build_deb_here "$src"
  elif [ "$codename" = trixie ]; then
    build_deb_trixie "$src"
  else
    die "a $codename .deb is built on $codename (or, for trixie, in a debootstrap root)"
  fi
  mkdir -p "$dist"
  local deb
  for deb in "$work"/*.deb; do
    case "$deb" in *-dbgsym_*) continue ;; esac
    cp "$deb" "$dist/"
    echo "$dist/$(basename "$deb")"
  done
}

# The macros Fedora and EL get from systemd-rpm-macros, cmake-rpm-macros and
# python3-rpm-macros, which Debian's rpm lacks: same names and meaning, written here. And one
# fix: Debian's brp-compress is a bash script started as /bin/sh (dash fails on `read -d`, and
# the man pages stay uncompressed).
debian_rpm_macros() {
  cat <<'MACROS'
%_unitdir /usr/lib/systemd/system
%__brp_compress /bin/bash %{_rpmconfigdir}/brp-compress %{?_prefix}
%_sysusersdir /usr/lib/sysusers.d
%__python3 /usr/bin/python3
%__cmake_builddir redhat-linux-build
%cmake cmake -S . -B %{__cmake_builddir} -DCMAKE_INSTALL_PREFIX:PATH=%{_prefix} -DCMAKE_INSTALL_SYSCONFDIR:PATH=%{_sysconfdir} -DCMAKE_INSTALL_LIBDIR:PATH=%{_lib}
%cmake_build cmake --build %{__cmake_builddir} -j%{?_smp_build_ncpus}%{!?_smp_build_ncpus:2}
%cmake_install DESTDIR=%{buildroot} cmake --install %{__cmake_builddir}
%systemd_post() if [ $1 -eq 1 ] && [ -x /usr/bin/systemctl ]; then /usr/bin/systemctl --no-reload preset %{?*} >/dev/null 2>&1 || :; fi
%systemd_preun() if [ $1 -eq 0 ] && [ -x /usr/bin/systemctl ]; then /usr/bin/systemctl --no-reload disable --now %{?*} >/dev/null 2>&1 || :; fi
%systemd_postun_with_restart() if [ $1 -ge 1 ] && [ -x /usr/bin/systemctl ]; then /usr/bin/systemctl try-restart %{?*} >/dev/null 2>&1 || :; fi
%sysusers_create_compat() getent group asgid >/dev/null || groupadd -r asgid; getent passwd asgid >/dev/null || useradd -r -g asgid -d / -s /usr/sbin/nologin -c "asgid ASGI server" asgid
MACROS
}

package_rpm() {
  local version spec_version top
  version=$(project_version)
  spec_version=$(sed -n 's/^Version: *//p' "$here/packaging/rpm/asgid.spec")
  [ "$spec_version" = "$version" ] ||
    die "packaging/rpm/asgid.spec has Version $spec_version, CMakeLists.txt $version: make them equal"
  host_tools rpmbuild:rpm
  export_tree "$version"
  top=$work/rpmbuild
  mkdir -p "$top/SOURCES" "$top/SPECS"
  tar -C "$work" -czf "$top/SOURCES/asgid-$version.tar.gz" "asgid-$version"
  cp "$work/asgid-$version/packaging/sysusers/asgid.conf" "$top/SOURCES/asgid.sysusers"
  cp "$work/asgid-$version/packaging/rpm/asgid.spec" "$top/SPECS/"
  local macros=$work/macros.debian
  # Only where the distribution did not define them (so on an RPM distro nothing changes).
  if [ "$(rpm --eval '%{?_unitdir}')" = "" ]; then debian_rpm_macros >"$macros"; else : >"$macros"; fi
  echo "=== rpm: asgid $version"
  # --nodeps: the BuildRequires name Fedora's packages, which dpkg does not know; the
  # Debian equivalents are what scripts/install-deps.sh installs.
  nice -n 10 rpmbuild -bb --nodeps --load "$macros" --define "_topdir $top" \
    --define "_smp_build_ncpus $(nproc)" "$top/SPECS/asgid.spec" >"$work/rpmbuild.log" 2>&1 ||
    { tail -n 40 "$work/rpmbuild.log" >&2; die "rpmbuild failed (log above)"; }
  mkdir -p "$dist"
  local rpm
  for rpm in "$top"/RPMS/*/*.rpm; do
    case "$rpm" in *-debuginfo-* | *-debugsource-*) continue ;; esac
    cp "$rpm" "$dist/"
    echo "$dist/$(basename "$rpm")"
  done
}

package_wheel() {
  [ -x "$here/scripts/build-wheel.sh" ] ||
    die "scripts/build-wheel.sh is missing: the wheel is not buildable from this tree yet"
  "$here/scripts/build-wheel.sh"
}

main() {
  trap cleanup EXIT
  work=$(mktemp -d /tmp/asgid-package.XXXXXX)
  case "${1:-}" in
    deb) package_deb "${2:-}" ;;
    rpm) package_rpm ;;
    wheel) package_wheel ;;
    all) package_deb; rm -rf "${work:?}"/*; package_rpm; package_wheel ;;
    *) echo "usage: $0 deb [bookworm|trixie] | rpm | wheel | all" >&2; exit 2 ;;
  esac
}

main "$@"; exit
