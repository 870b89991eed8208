#!/usr/bin/env bash
# Installs what is missing, builds asgid twice (Release, and ASan+UBSan) and runs every test
# on both: the GoogleTest suites (ctest), the event-loop feature tests, the integration tests
# against the real binary; then the Autobahn|Testsuite (WebSocket conformance, sections 1-11),
# CPython's own asyncio tests against our loop and a short fuzzing run of the parsers and
# protocols (HTTP parser, HTTP/1.1 connection, WebSocket frames, PROXY header). Then the same
# on Debian 13 (Python 3.13, llhttp 9) in a debootstrap root: scripts/test-trixie.sh
# (ASGID_TEST_TRIXIE=0 skips it on a developer machine). Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

# Embedded Python under ASan: CPython keeps its objects until exit by design, so leak reports
# would be noise; everything else ASan and UBSan find fails the run.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

for variant in release asan; do
  echo "=== $variant build"
  dir=$(scripts/build.sh "$variant")
  echo "=== $variant: unit tests"
  (cd "$dir" && ctest --output-on-failure -j 2)
  echo "=== $variant: event loop features"
  "$dir/tests/asgid-pyrun" --venv .venv tests/asyncio/test_loop_features.py
  echo "=== $variant: integration tests"
  ASGID_BIN="$PWD/$dir/master/asgid" .venv/bin/python -m pytest tests/integration -q -p no:cacheprovider
done

echo "=== WebSocket conformance: Autobahn|Testsuite sections 1-11 against the Release build"
# (sections 12-13, permessage-deflate, take ~10 min: scripts/autobahn.sh --cases all, see
# docs/websocket.md)
ASGID_BIN="$PWD/build/master/asgid" scripts/autobahn.sh

echo "=== CPython's test_asyncio against asgid's loop"
build/tests/asgid-pyrun tests/asyncio/run_test_asyncio.py

echo "=== fuzzing the HTTP parser and connection (60 s in all)"
scripts/fuzz.sh 60

if [ "${ASGID_TEST_TRIXIE:-1}" != 0 ]; then
  echo "=== Debian 13 (trixie, Python 3.13): scripts/test-trixie.sh"
  scripts/test-trixie.sh
fi
