# Helpers for debootstrap roots, sourced by scripts/test-trixie.sh, scripts/package.sh and
# scripts/test-packages.sh: mounts undone on every exit path, the host's network
# configuration copied in, a clean environment inside, and the shared Debian 13 root.
# The caller sets `set -euo pipefail` and `trap root_unmount_all EXIT`.

root_mounts=()
root_mirror=${ASGID_DEBIAN_MIRROR:-http://deb.debian.org/debian}

root_unmount_all() {
  local i
  for ((i = ${#root_mounts[@]} - 1; i >= 0; i--)); do
    umount "${root_mounts[i]}" 2>/dev/null || umount -l "${root_mounts[i]}" || true
  done
  root_mounts=()
}

root_mount() { # root_mount ROOT TARGET MOUNT-ARGS...
  local target=$1/$2
  shift 2
  mkdir -p "$target"
  mount "$@" "$target"
  root_mounts+=("$target")
}

# /proc, /sys, /dev (with pts and shm) for apt, Python and the daemon.
root_mount_system() { # root_mount_system ROOT
  root_mount "$1" proc -t proc proc
  root_mount "$1" sys -t sysfs -o ro sysfs
  root_mount "$1" dev --bind /dev
  root_mount "$1" dev/pts --bind /dev/pts
  root_mount "$1" dev/shm -t tmpfs -o mode=1777,nosuid,nodev tmpfs
}

# DNS, hosts, the CA bundle (it may hold a local CA that PyPI's certificate chains to) and
# pip's configuration, so apt and pip reach the network from inside as they do outside.
root_copy_host_config() { # root_copy_host_config ROOT
  local r=$1 f
  for f in /etc/resolv.conf /etc/hosts /etc/pip.conf; do
    if [ -e "$f" ]; then cp -L "$f" "$r$f"; fi
  done
  if [ -e /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$r/etc/ssl/certs"
    cp -L /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/ca-certificates.crt"
  fi
  if [ -e "$HOME/.config/pip/pip.conf" ]; then
    mkdir -p "$r/root/.config/pip"
    cp -L "$HOME/.config/pip/pip.conf" "$r/root/.config/pip/pip.conf"
  fi
}

# A clean environment inside, plus pip's and the proxies' settings from the host
# (PIP_FIND_LINKS names a directory of this host, not of the root).
root_env=(HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
          DEBIAN_FRONTEND=noninteractive PYTHONDONTWRITEBYTECODE=1)
while IFS='=' read -r _name _; do
  case "$_name" in
    PIP_FIND_LINKS) ;;
    PIP_* | http_proxy | https_proxy | no_proxy | HTTP_PROXY | HTTPS_PROXY | NO_PROXY)
      root_env+=("$_name=${!_name}") ;;
  esac
done < <(env)

in_root() { # in_root ROOT SCRIPT: runs SCRIPT with bash inside ROOT
  chroot "$1" /usr/bin/env -i "${root_env[@]}" /bin/bash -euo pipefail -c "$2"
}

# A minbase root for CODENAME at ROOT, made once (debootstrap into ROOT.new, then renamed, so
# an interrupted run leaves no half-made root) and reused while STAMP is unchanged. LOG gets
# debootstrap's and apt's output. PACKAGES (optional) are installed after debootstrap.
root_ensure() { # root_ensure CODENAME ROOT STAMP LOG [PACKAGES...]
  local codename=$1 root=$2 stamp=$3 log=$4
  shift 4
  if [ "$(cat "$root/.asgid-root-stamp" 2>/dev/null)" = "$stamp" ]; then return; fi
  echo "=== $codename: building a minbase root in $root (log: $log)"
  rm -rf "$root.new"
  mkdir -p "$(dirname "$root")"
  debootstrap --variant=minbase "$codename" "$root.new" "$root_mirror" >"$log" 2>&1 ||
    { tail -n 30 "$log" >&2; echo "debootstrap $codename failed" >&2; return 1; }
  if [ $# -gt 0 ]; then
    root_copy_host_config "$root.new"
    root_mount_system "$root.new"
    in_root "$root.new" "apt-get update -qq && apt-get install -y -qq --no-install-recommends $*
      apt-get clean" >>"$log" 2>&1 || { tail -n 30 "$log" >&2; root_unmount_all; return 1; }
    root_unmount_all
  fi
  echo "$stamp" >"$root.new/.asgid-root-stamp"
  rm -rf "$root"
  mv "$root.new" "$root"
}

# Installs the tools named (PROGRAM:PACKAGE pairs) on the host when a program is missing.
host_tools() { # host_tools PROGRAM:PACKAGE...
  local pair missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "=== installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# The Debian 13 root that test-trixie.sh builds and tests in and package.sh builds the trixie
# .deb in: CACHE/trixie-root, remade when trixie's package list in install-deps.sh changes.
# Takes CACHE/trixie.lock on descriptor 9 (held until the caller exits), so runs from several
# clones on one machine take turns.
trixie_root_ready() { # trixie_root_ready CACHE REPO
  local cache=$1 repo=$2 packages stamp
  mkdir -p "$cache"
  exec 9>"$cache/trixie.lock"
  flock 9
  packages=$("$repo/scripts/install-deps.sh" --list trixie --no-fuzz)
  stamp=$(printf 'minbase trixie %s\n%s\n' "$root_mirror" "$packages" | sha256sum | cut -d' ' -f1)
  # shellcheck disable=SC2086 # one package name per word
  root_ensure trixie "$cache/trixie-root" "$stamp" "$cache/debootstrap.log" $packages
}
