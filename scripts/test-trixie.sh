#!/usr/bin/env bash
# Builds and tests asgid on Debian 13 (trixie, Python 3.13) inside a debootstrap root, beside
# the Debian 12 run of scripts/test.sh (which calls this script). Runs as root (through sudo
# when started by another user).
#
# Principle: the root lives outside the clone (ASGID_TRIXIE_CACHE, default /var/cache/asgid)
# and is reused between runs on the same machine; it is rebuilt when it is missing or when
# trixie's package list in scripts/install-deps.sh changes. Each run copies the tree (tracked
# and untracked, not ignored files) into the root, keeps the build directory and the
# virtualenv there between runs (so a warm run only rebuilds what changed), and runs: Release
# build, unit tests, loop features, the integration suite, CPython 3.13's test_asyncio.
# Every mount is undone on every exit path (the EXIT trap), and a lock serialises runs from
# several clones on one machine.
#
# Usage: scripts/test-trixie.sh                 build and run every test
#        scripts/test-trixie.sh --bench [ARGS]  build, then `bench/run.py ARGS` in the root
#        scripts/test-trixie.sh --wheel [ARGS]  `scripts/test-wheel.sh ARGS` in the root
#                                               (the wheel for Python 3.13)
#
# Everything runs from main(), called on the last line: bash has read the whole file by then,
# so editing the script while it runs cannot change what runs.
set -euo pipefail

cache=${ASGID_TRIXIE_CACHE:-/var/cache/asgid}
root=$cache/trixie-root
# shellcheck source=lib/debian-root.sh
. "$(dirname "$(readlink -f "$0")")/lib/debian-root.sh"

# Copies the clone's files into WORK/src in the root; WORK/build and the venv stay.
copy_tree() { # copy_tree SRC WORK
  mkdir -p "$root$2/build"
  rm -rf "$root$2/src"
  mkdir -p "$root$2/src"
  # tar keeps the files' times, so ninja rebuilds only what changed since the last run.
  git -C "$1" ls-files -z --cached --others --exclude-standard |
    tar -C "$1" --null -T - -cf - |
    tar -C "$root$2/src" -xf -
  ln -s ../build "$root$2/src/build"
  mkdir -p "$root$2/build-wheel"
  ln -s ../build-wheel "$root$2/src/build-wheel"
  ln -s /opt/asgid-venv "$root$2/src/.venv"
}

# The virtualenv: trixie's /usr/bin/python3 and tests/requirements.txt, remade when either
# changes.
make_venv() { # make_venv WORK
  local stamp
  stamp=$( (cat "$root$1/src/tests/requirements.txt"; in_root "$root" "/usr/bin/python3 -VV") |
           sha256sum | cut -d' ' -f1)
  if [ "$(cat "$root/opt/asgid-venv/.asgid-stamp" 2>/dev/null)" = "$stamp" ]; then return; fi
  echo "=== trixie: virtualenv"
  in_root "$root" "rm -rf /opt/asgid-venv && /usr/bin/python3 -m venv /opt/asgid-venv &&
    /opt/asgid-venv/bin/python -m pip install -q --upgrade pip &&
    /opt/asgid-venv/bin/python -m pip install -q -r $1/src/tests/requirements.txt"
  echo "$stamp" >"$root/opt/asgid-venv/.asgid-stamp"
}

build_and_test() { # build_and_test WORK
  in_root "$root" "cd $1/src
    echo '=== trixie: release build'
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DASGID_PYTHON=/usr/bin/python3 >/dev/null
    cmake --build build -j \$(nproc)
    echo '=== trixie: unit tests'
    (cd build && ctest --output-on-failure -j 2)
    echo '=== trixie: event loop features'
    build/tests/asgid-pyrun --venv .venv tests/asyncio/test_loop_features.py
    echo '=== trixie: integration tests'
    ASGID_BIN=\$PWD/build/master/asgid .venv/bin/python -m pytest tests/integration -q -p no:cacheprovider
    echo \"=== trixie: CPython \$(/usr/bin/python3 -c 'import platform; print(platform.python_version())')'s test_asyncio against asgid's loop\"
    build/tests/asgid-pyrun tests/asyncio/run_test_asyncio.py"
}

build_and_bench() { # build_and_bench WORK BENCH-ARGS...
  local work=$1 args
  shift
  args=$(printf ' %q' "$@")
  in_root "$root" "cd $work/src
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DASGID_PYTHON=/usr/bin/python3 >/dev/null
    cmake --build build -j \$(nproc)
    .venv/bin/python bench/run.py $args"
}

main() {
  local self started=$SECONDS
  self=$(readlink -f "$0")
  # debootstrap, chroot and mount need root (like install-deps.sh: sudo when not root).
  if [ "$(id -u)" -ne 0 ]; then exec sudo --preserve-env "$self" "$@"; fi
  cd "$(dirname "$self")/.."
  local src=$PWD
  if ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
  fi

  trap root_unmount_all EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trixie_root_ready "$cache" "$src"
  root_copy_host_config "$root"
  root_mount_system "$root"

  # One work directory per clone, so two clones on one machine keep their own warm builds.
  local work
  work=/work/$(printf '%s' "$src" | sha256sum | cut -c1-12)
  copy_tree "$src" "$work"
  # The one package list, again from inside (a no-op unless a package is missing).
  in_root "$root" "cd $work/src && scripts/install-deps.sh --no-venv --no-fuzz"
  if [ "${1:-}" = --wheel ]; then
    shift
    local args=""
    [ $# -eq 0 ] || args=$(printf ' %q' "$@")
    in_root "$root" "cd $work/src && scripts/test-wheel.sh$args"
    echo "=== trixie: done in $((SECONDS - started)) s"
    return
  fi
  make_venv "$work"
  if [ "${1:-}" = --bench ]; then
    shift
    build_and_bench "$work" "$@"
  else
    build_and_test "$work"
  fi
  echo "=== trixie: done in $((SECONDS - started)) s"
}

main "$@"; exit
