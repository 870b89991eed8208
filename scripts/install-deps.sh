#!/usr/bin/env bash
# Installs everything asgid needs to build, test and benchmark on a fresh Debian 12 (bookworm)
# or Debian 13 (trixie) machine: Debian packages for the C++ side; a virtualenv (made by the
# same Python that asgid embeds) holding the pinned PyPI packages for tests and benchmarks.
#
# Usage: scripts/install-deps.sh [--no-venv] [--no-fuzz] [--list [CODENAME]]
#   --no-venv   Debian packages only
#   --no-fuzz   leave out clang (only scripts/fuzz.sh needs it)
#   --list      print the package list for CODENAME (default: this machine's) and exit; the
#               trixie CI root (scripts/test-trixie.sh) is rebuilt when this list changes
set -euo pipefail
cd "$(dirname "$0")/.."

venv=1 fuzz=1 list=0 codename=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-venv) venv=0 ;;
    --no-fuzz) fuzz=0 ;;
    --list) list=1; [ $# -gt 1 ] && [ "${2#--}" = "$2" ] && { codename=$2; shift; } ;;
    *) echo "usage: $0 [--no-venv] [--no-fuzz] [--list [CODENAME]]" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$codename" ] || codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

# One list; the release decides the few names that differ.
packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libev-dev libspdlog-dev libcli11-dev libyaml-cpp-dev libwebsocketpp-dev zlib1g-dev
  googletest libgtest-dev libgmock-dev
  python3 python3-dev python3-venv
  wrk curl procps iproute2
)
case "$codename" in
  bookworm)
    # node-llhttp 8.1 ships llhttp's C sources; CMake builds them (see CMakeLists.txt).
    packages+=(node-llhttp libpython3.11-testsuite)
    # llvm-14: the symbolizer that matches clang 14 (/usr/lib/llvm-14/bin/llvm-symbolizer), so
    # that a fuzzer's findings come with file:line stacks.
    fuzz_packages=(clang clang-format libclang-rt-14-dev llvm-14) ;;
  trixie)
    # llhttp 9 is a real library in trixie; node-llhttp no longer ships the C sources.
    packages+=(libllhttp-dev libpython3.13-testsuite)
    fuzz_packages=(clang clang-format libclang-rt-19-dev llvm-19) ;;
  *) echo "install-deps.sh: Debian 12 (bookworm) or 13 (trixie) expected, not '$codename'" >&2
     exit 2 ;;
esac
[ "$fuzz" -eq 0 ] || packages+=("${fuzz_packages[@]}")

if [ "$list" -eq 1 ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "$venv" -eq 1 ]; then
  scripts/setup-venv.sh
fi
