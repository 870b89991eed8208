#!/usr/bin/env bash
# Installs what is missing, builds asgid twice (Release, and ASan+UBSan) and runs every test
# on both: the GoogleTest suites (ctest), the event-loop feature tests, the integration tests
# against the real binary; then the Autobahn|Testsuite (WebSocket conformance, sections 1-11),
# CPython's own asyncio tests against our loop and a short fuzzing run of the parsers and
# protocols (HTTP parser, HTTP/1.1 connection, WebSocket frames, PROXY header). Then the same
# on Debian 13 (Python 3.13, llhttp 9) in a debootstrap root: scripts/test-trixie.sh
# (ASGID_TEST_TRIXIE=0 skips it on a developer machine). Last, the wheel: built with
# scikit-build-core, pip-installed into a fresh venv, serving a FastAPI app (test-wheel.sh);
# and the packages: each .deb installed, run as its service user and purged in a fresh
# debootstrap root, the .rpm built, linted and queried (test-packages.sh).
#
# Every suite runs even when an earlier one fails, and the run ends with a table (suite,
# result, duration); the exit status is non-zero if any suite failed. A build that fails
# skips the suites that need it (marked "skipped" in the table) rather than failing them all
# for one cause.
set -uo pipefail
cd "$(dirname "$0")/.."

# Embedded Python under ASan: CPython keeps its objects until exit by design, so leak reports
# would be noise; everything else ASan and UBSan find fails the run.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

summary=()  # "name<TAB>result<TAB>seconds"
failures=0

duration() {
  local s=$1
  if [ "$s" -ge 60 ]; then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

# stage NAME CMD...: runs CMD as one suite of the table. Never stops the run; returns CMD's
# status so that what depends on it (the suites of a build) can be skipped.
stage() {
  local name=$1 start=$SECONDS status=0
  shift
  echo "=== $name"
  "$@" || status=$?
  if [ "$status" -eq 0 ]; then
    summary+=("$name"$'\t'"ok"$'\t'"$((SECONDS - start))")
  else
    summary+=("$name"$'\t'"FAILED (exit $status)"$'\t'"$((SECONDS - start))")
    failures=$((failures + 1))
  fi
  return "$status"
}

# skip NAME WHY: a suite that could not run. Not counted as a failure: its cause, if any, is
# one already.
skip() {
  echo "=== $1: skipped ($2)"
  summary+=("$1"$'\t'"skipped: $2"$'\t'"0")
}

print_summary() {
  local line name result seconds
  echo
  echo "=== Summary"
  printf '%-44s %-34s %s\n' "suite" "result" "duration"
  for line in "${summary[@]}"; do
    IFS=$'\t' read -r name result seconds <<<"$line"
    printf '%-44s %-34s %s\n' "$name" "$result" "$(duration "$seconds")"
  done
  if [ "$failures" -eq 0 ]; then
    echo "all suites passed"
  else
    echo "$failures suite(s) failed"
  fi
}

# The suites run against one build of `variant` (its directory `dir`).
variant_suites() {
  local variant=$1 dir=$2
  stage "$variant: unit tests" ctest --test-dir "$dir" --output-on-failure -j 2
  stage "$variant: event loop features" \
    "$dir/tests/asgid-pyrun" --venv .venv tests/asyncio/test_loop_features.py
  stage "$variant: integration tests" env ASGID_BIN="$PWD/$dir/master/asgid" \
    .venv/bin/python -m pytest tests/integration -q -p no:cacheprovider
}

stage "install dependencies" scripts/install-deps.sh

release_built=0
for variant in release asan; do
  dir=build
  [ "$variant" = asan ] && dir=build-asan
  if stage "$variant: build" scripts/build.sh "$variant"; then
    variant_suites "$variant" "$dir"
    [ "$variant" = release ] && release_built=1
  else
    for suite in "unit tests" "event loop features" "integration tests"; do
      skip "$variant: $suite" "the $variant build failed"
    done
  fi
done

# (sections 12-13, permessage-deflate, take ~10 min: scripts/autobahn.sh --cases all, see
# docs/websocket.md)
if [ "$release_built" -eq 1 ]; then
  stage "Autobahn|Testsuite 1-11 (release)" env ASGID_BIN="$PWD/build/master/asgid" \
    scripts/autobahn.sh
  stage "CPython test_asyncio on asgid's loop" \
    build/tests/asgid-pyrun tests/asyncio/run_test_asyncio.py
else
  skip "Autobahn|Testsuite 1-11 (release)" "the release build failed"
  skip "CPython test_asyncio on asgid's loop" "the release build failed"
fi

stage "fuzzing, 60 s (clang build)" scripts/fuzz.sh 60

if [ "${ASGID_TEST_TRIXIE:-1}" != 0 ]; then
  stage "Debian 13 (trixie): scripts/test-trixie.sh" scripts/test-trixie.sh
else
  skip "Debian 13 (trixie): scripts/test-trixie.sh" "ASGID_TEST_TRIXIE=0"
fi

stage "wheel: scripts/test-wheel.sh" scripts/test-wheel.sh
stage "packages (.deb 12, 13; .rpm)" scripts/test-packages.sh

print_summary
[ "$failures" -eq 0 ]
