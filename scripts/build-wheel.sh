#!/usr/bin/env bash
# Builds asgid's sdist and wheel into dist/ (docs/wheel.md), compiling the asgid target only
# (no tests). The wheel embeds the Python that runs this script: /usr/bin/python3 (Debian's,
# the one the .deb embeds too) unless ASGID_PYTHON names another.
#
# Usage: scripts/build-wheel.sh                sdist, and the wheel from the tree: CMake keeps
#                                              build-wheel/<tag>/, so a rebuild is incremental
#        scripts/build-wheel.sh --from-sdist   sdist, then `pip wheel` on it: pip's isolated
#                                              build environment (pyproject.toml's pinned
#                                              build-system.requires from PyPI) and a full
#                                              compile, as `pip install asgid-*.tar.gz` does
# Prints the wheel's path on stdout; the build log goes to stderr.
# Needs the Debian build dependencies (scripts/install-deps.sh --no-venv) and python3-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

from_sdist=0
case "${1:-}" in
  "") ;;
  --from-sdist) from_sdist=1 ;;
  *) echo "usage: $0 [--from-sdist]" >&2; exit 2 ;;
esac

python=${ASGID_PYTHON:-/usr/bin/python3}
tools=build-wheel/tools-$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# The build tools live in their own venv, pinned (scripts/wheel-requirements.txt), so a build
# needs nothing from PyPI after the first one and never changes with PyPI's latest release.
if [ ! -x "$tools/bin/python" ] || ! cmp -s scripts/wheel-requirements.txt "$tools/requirements.txt"; then
  rm -rf "$tools"
  "$python" -m venv "$tools"
  "$tools/bin/pip" install -q --disable-pip-version-check -r scripts/wheel-requirements.txt >&2
  cp scripts/wheel-requirements.txt "$tools/requirements.txt"
fi

version=$(sed -n 's/^project(asgid VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
rm -f dist/asgid-"$version".tar.gz dist/asgid-"$version"-*.whl
# --no-isolation: the pinned tools above are the build environment.
build=("$tools/bin/python" -m build --no-isolation --outdir dist)
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
if [ "$from_sdist" -eq 1 ]; then
  "${build[@]}" --sdist . >&2
  "$tools/bin/pip" wheel -q --disable-pip-version-check --no-deps --wheel-dir dist \
    dist/asgid-"$version".tar.gz >&2
else
  "${build[@]}" --sdist --wheel -C build-dir="build-wheel/{wheel_tag}" . >&2
fi
ls dist/asgid-"$version"-*.whl
