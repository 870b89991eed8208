#!/usr/bin/env bash
# Installs everything asgid needs to build, test and benchmark on a fresh Debian 12 machine.
# Debian packages for the C++ side; a virtualenv (made by the same Python that asgid embeds)
# holding the pinned PyPI packages for tests and benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

packages=(
  build-essential cmake ninja-build pkg-config git
  libev-dev node-llhttp libspdlog-dev libcli11-dev libyaml-cpp-dev libwebsocketpp-dev
  googletest libgtest-dev libgmock-dev
  python3 python3-dev python3-venv libpython3.11-testsuite
  clang clang-format libclang-rt-14-dev
  wrk curl procps
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "${1:-}" != "--no-venv" ]; then
  scripts/setup-venv.sh
fi
