#!/usr/bin/env bash
# The `pip install asgid` path, end to end (docs/wheel.md): builds the wheel
# (scripts/build-wheel.sh), installs it and tests/requirements.txt's FastAPI into a fresh venv
# made by /usr/bin/python3, then serves a tiny FastAPI app with that venv's bin/asgid and no
# --venv, from the app's directory. Checks: the binary resolves its libpython, --print-config
# names the venv asgid found from its own path, the app imports from the venv and answers
# JSON, and TERM stops asgid with status 0. Exits non-zero on the first failure.
#
# Usage: scripts/test-wheel.sh [--from-sdist]   (the flag goes to scripts/build-wheel.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

python=${ASGID_PYTHON:-/usr/bin/python3}
fail() { echo "test-wheel: FAIL: $*" >&2; exit 1; }
step() { echo "=== wheel: $*"; }

step "build"
wheel=$(scripts/build-wheel.sh "$@")
[ -f "$wheel" ] || fail "scripts/build-wheel.sh named no wheel"
echo "$wheel"

tmp=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -KILL "$server" || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

step "install into a fresh venv ($("$python" -V))"
fastapi=$(grep -E '^fastapi==' tests/requirements.txt) || fail "no fastapi pin in tests/requirements.txt"
venv=$tmp/venv
"$python" -m venv "$venv"
# The file's other pins (Starlette) constrain FastAPI's dependencies.
"$venv/bin/pip" install -q --disable-pip-version-check -c tests/requirements.txt "$wheel" "$fastapi"
asgid=$venv/bin/asgid
[ -x "$asgid" ] || fail "the wheel put no executable at $asgid"

step "ldd resolves libpython"
soname=$("$python" -c 'import sysconfig; print(sysconfig.get_config_var("INSTSONAME") or "")')
ldd "$asgid" >"$tmp/ldd.txt" || fail "ldd $asgid failed"
if grep -q "not found" "$tmp/ldd.txt"; then cat "$tmp/ldd.txt" >&2; fail "unresolved libraries"; fi
grep -E "^\s*${soname//./\\.} => /" "$tmp/ldd.txt" ||
  { cat "$tmp/ldd.txt" >&2; fail "$asgid does not link $soname"; }

mkdir "$tmp/app"
cat >"$tmp/app/main.py" <<'PY'
import sys

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def root():
    return {"hello": "wheel", "prefix": sys.prefix}
PY

# No --venv and no activated venv: asgid must find its own from its path.
run_env=(env -u VIRTUAL_ENV -u ASGID_VENV -u ASGID_CONFIG -u PYTHONPATH -u PYTHONHOME)

step "--print-config names the venv"
(cd "$tmp/app" && "${run_env[@]}" "$asgid" main:app --print-config) >"$tmp/config.yaml"
expected="venv: $venv  # the venv of $asgid"
grep -qxF "$expected" "$tmp/config.yaml" ||
  { grep venv "$tmp/config.yaml" >&2; fail "expected the line: $expected"; }

step "serve FastAPI with $asgid"
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$tmp/app" && exec "${run_env[@]}" "$asgid" main:app --port "$port") >"$tmp/asgid.log" 2>&1 &
server=$!
body=""
for _ in $(seq 1 100); do
  kill -0 "$server" 2>/dev/null || { cat "$tmp/asgid.log" >&2; fail "asgid exited early"; }
  if body=$(curl -sf --max-time 5 "http://127.0.0.1:$port/"); then break; fi
  sleep 0.2
done
[ -n "$body" ] || { cat "$tmp/asgid.log" >&2; fail "no answer on port $port"; }
echo "$body"
"$python" - "$body" "$venv" <<'PY' || { cat "$tmp/asgid.log" >&2; fail "unexpected JSON"; }
import json, os, sys
body, venv = json.loads(sys.argv[1]), sys.argv[2]
assert body["hello"] == "wheel", body
assert os.path.realpath(body["prefix"]) == os.path.realpath(venv), (body["prefix"], venv)
PY

step "TERM stops it with status 0"
kill -TERM "$server"
status=0
wait "$server" || status=$?
server=""
[ "$status" -eq 0 ] || { cat "$tmp/asgid.log" >&2; fail "asgid exited $status after TERM"; }
step "ok"
