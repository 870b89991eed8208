#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz, -DASGID_FUZZ=ON) and runs each for a
# share of $1 seconds (default 60, in total):
#   http_parser_fuzz      (a third)      the pure request parser: pieces, limits, split vs whole
#   http_connection_fuzz  (the rest)     the whole HTTP/1.1 protocol over a socketpair: one
#                                        well-formed response per request, no desync
#   ws_frame_fuzz         (a quarter)    the WebSocket frame reader (hybi13 + bounded deflate):
#                                        valid UTF-8, limits kept, whole and split reads agree
#   proxy_protocol_fuzz   (a tenth, >=1) the PROXY protocol header parser: verdicts final,
#                                        lengths bounded (small input space: little time)
# Each starts from its checked-in seed corpus (tests/fuzz/corpus/<name without _fuzz>) with
# its dictionary (tests/fuzz/<name without _fuzz>.dict). New inputs go to a temporary directory, removed at the end (the
# tree is never written to); a crashing input is kept as build-fuzz/artifacts/<name>-crash-*.
# Every target runs even if one fails; the exit status is non-zero if any found something.
#
# To read a finding: build-fuzz/tests/<name> build-fuzz/artifacts/<file> reruns it
# (HTTP_CONNECTION_FUZZ_VERBOSE=1 makes the connection target print what happened).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
build=build-fuzz
parser_seconds=$((seconds / 3 > 0 ? seconds / 3 : 1))
proxy_seconds=$((seconds / 10 > 0 ? seconds / 10 : 1))
ws_seconds=$((seconds / 4 > 0 ? seconds / 4 : 1))
connection_seconds=$((seconds - parser_seconds - proxy_seconds - ws_seconds > 0 ?
  seconds - parser_seconds - proxy_seconds - ws_seconds : 1))

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DASGID_FUZZ=ON -DASGID_TESTS=ON >/dev/null
ninja -C "$build" -j2 http_parser_fuzz http_connection_fuzz ws_frame_fuzz proxy_protocol_fuzz

work=$(mktemp -d "${TMPDIR:-/tmp}/asgid-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/artifacts"
# The fuzzers embed no Python: leaks are findings here (scripts/test.sh turns them off for the
# Python builds).
export ASAN_OPTIONS=detect_leaks=1
# The symbolizer of the clang that built the targets (llvm-N, from install-deps.sh: the
# unversioned name is in the "llvm" package, which is not installed). Without it every report
# warns that it cannot symbolize and its stacks are bare addresses.
clang_dir=$(dirname "$(readlink -f "$(command -v clang)")")
for symbolizer in "$clang_dir/llvm-symbolizer" "$(command -v llvm-symbolizer || true)"; do
  if [ -x "$symbolizer" ]; then
    export ASAN_SYMBOLIZER_PATH=$symbolizer
    break
  fi
done
[ -n "${ASAN_SYMBOLIZER_PATH:-}" ] ||
  echo "fuzz.sh: no llvm-symbolizer next to $clang_dir/clang: stacks will not be symbolized" \
    "(scripts/install-deps.sh installs it)" >&2

# run TARGET SECONDS MAX_LEN (the dictionary and corpus are named without "_fuzz")
run() {
  local name=$1 base=${1%_fuzz}
  mkdir -p "$work/$base"
  echo "=== $name: $2 s"
  "$build/tests/$name" -max_total_time="$2" -max_len="$3" -timeout=10 \
    -dict="tests/fuzz/$base.dict" -artifact_prefix="$build/artifacts/$name-" \
    -print_final_stats=1 "$work/$base" "tests/fuzz/corpus/$base"
}

status=0
run http_parser_fuzz "$parser_seconds" 8192 || status=1
run http_connection_fuzz "$connection_seconds" 8192 || status=1
run ws_frame_fuzz "$ws_seconds" 16384 || status=1
run proxy_protocol_fuzz "$proxy_seconds" 512 || status=1
exit "$status"
