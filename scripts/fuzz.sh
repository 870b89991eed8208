#!/usr/bin/env bash
# Builds the HTTP parser fuzzer with clang (build-fuzz, -DASGID_FUZZ=ON) and runs it for $1
# seconds (default 60) on the checked-in seed corpus. New inputs go to build-fuzz/corpus, a
# crashing input to build-fuzz/artifacts; the exit status is non-zero when the fuzzer found one.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
build=build-fuzz
seeds=tests/fuzz/corpus/http_parser

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DASGID_FUZZ=ON -DASGID_TESTS=ON >/dev/null
ninja -C "$build" -j2 http_parser_fuzz

mkdir -p "$build/corpus/http_parser" "$build/artifacts"
# Tokens that the parser branches on, so mutations reach them sooner.
cat >"$build/http_parser.dict" <<'EOF'
"GET "
"POST "
"CONNECT "
"PRI * HTTP/2.0"
" HTTP/1.1\x0d\x0a"
" HTTP/1.0\x0d\x0a"
"HTTP/"
"RTSP/1.0"
"\x0d\x0a"
"\x0d\x0a\x0d\x0a"
": "
"Host: "
"Content-Length: "
"Transfer-Encoding: chunked"
"Transfer-Encoding: "
"Connection: close"
"Connection: keep-alive"
"Connection: Upgrade"
"Upgrade: websocket"
"Expect: 100-continue"
"chunked"
"0\x0d\x0a\x0d\x0a"
";ext=\"v\""
EOF

exec "$build/tests/http_parser_fuzz" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
  -dict="$build/http_parser.dict" -artifact_prefix="$build/artifacts/" -print_final_stats=1 \
  "$build/corpus/http_parser" "$seeds"
