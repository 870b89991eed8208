#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzing client (RFC 6455 conformance, 500+ cases) against a
# WebSocket echo server and prints a summary. Exits non-zero if a case's behavior is FAILED or
# UNIMPLEMENTED, or if a selected case has no result; OK, NON-STRICT and INFORMATIONAL pass.
#
# Usage: scripts/autobahn.sh [--cases SPEC] [--exclude SPEC] [--server-cmd CMD]
#                            [--report-dir DIR] [--install-only]
#   --cases SPEC      1-11 (default: sections 1 to 11; 12 and 13 are permessage-deflate and
#                     slow), all, or Autobahn patterns separated by commas: 5.*,9.1.6,12.1.*
#   --exclude SPEC    the same syntax, taken out of --cases
#   --server-cmd CMD  test another server: CMD is run by bash in the current directory with
#                     {port} replaced by a free loopback port; it must serve the echo app at
#                     ws://127.0.0.1:{port}/, e.g. (one line) '.venv/bin/uvicorn --app-dir
#                     tests/autobahn echo:app --port {port} --ws websockets --ws-max-size
#                     20000000'
#                     Default: ${ASGID_BIN:-build/master/asgid} serving tests/autobahn/echo.py.
#   --report-dir DIR  where the spec, logs and Autobahn's HTML/JSON reports go (default: a new
#                     temporary directory, printed); never inside the git tree unless asked.
#   --install-only    install the suite and exit
#
# The suite (PyPI autobahntestsuite) needs Python 2.7, which Debian 12 no longer has: the script
# downloads Debian 11's python2.7 packages with its own APT configuration (the system's APT
# state is untouched), unpacks them with dpkg -x, and pip-installs the pinned packages of
# scripts/autobahn-requirements.txt into a user base next to them. Everything is cached under
# ${ASGID_CACHE:-/var/cache/asgid}/autobahn and reinstalled only when this installer or the
# requirements change. Needs: apt-get, dpkg, gcc, access to the Debian mirror and to PyPI
# (pip's own config is honoured), and a Python 3 pip: the repo's .venv, else /usr/bin/python3.
# ASGID_AUTOBAHN_MIRROR / ASGID_AUTOBAHN_SECURITY_MIRROR override the Debian mirrors (default:
# the ones in /etc/apt), e.g. http://archive.debian.org/debian once bullseye is archived.
# ASGID_AUTOBAHN_STALL_TIMEOUT (default 600 s): stop wstest when its log stays silent that long.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
helper=("/usr/bin/python3" "$repo/scripts/autobahn-helper.py")
requirements=$repo/scripts/autobahn-requirements.txt

cases=1-11 exclude="" server_cmd="" report_dir="" install_only=0
usage() { sed -n '6,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --cases) cases=${2:?}; shift ;;
    --exclude) exclude=${2:?}; shift ;;
    --server-cmd) server_cmd=${2:?}; shift ;;
    --report-dir) report_dir=${2:?}; shift ;;
    --install-only) install_only=1 ;;
    -h|--help) usage ;;
    *) echo "autobahn.sh: unknown argument '$1'" >&2; usage ;;
  esac
  shift
done

cache=${ASGID_CACHE:-/var/cache/asgid}/autobahn
py27=$cache/py27            # root/: the unpacked .debs; user/: PYTHONUSERBASE for pip --user
# Debian 11 packages that bookworm lacks; the rest of python2.7's dependencies (libc6,
# zlib1g, libexpat1, libsqlite3-0, libreadline8, ...) have the same sonames in Debian 12.
debs=(python2.7 python2.7-minimal libpython2.7-stdlib libpython2.7-minimal libpython2.7
      libpython2.7-dev python2.7-dev libssl1.1 libffi7)
bootstrap=(pip==20.3.4 setuptools==44.1.1 wheel==0.37.1)  # the last releases for Python 2
# Bump when the installer below changes, so cached installs are redone.
installer_version=1
install_key=$( { echo "$installer_version ${debs[*]} ${bootstrap[*]}"; cat "$requirements"; } |
  sha256sum | cut -d' ' -f1)

# Runs the unpacked Python 2.7. PYTHONHOME makes it find its stdlib there; LD_LIBRARY_PATH its
# libssl1.1 and libffi7; the user base holds the suite. The caller's Python 3 settings must not
# leak in.
multiarch=$(gcc -print-multiarch)
py2=(env -u PYTHONPATH -u PYTHONSTARTUP -u PYTHONNOUSERSITE -u VIRTUAL_ENV
     LD_LIBRARY_PATH="$py27/root/usr/lib/$multiarch" PYTHONHOME="$py27/root/usr"
     PYTHONUSERBASE="$py27/user" PIP_NO_PYTHON_VERSION_WARNING=1 PIP_CACHE_DIR="$cache/pip"
     "$py27/root/usr/bin/python2.7")
py2() { "${py2[@]}" "$@"; }

# A private APT: its own sources.list (bullseye on this machine's mirror), state, cache and
# config parts, so neither /var/lib/apt nor the system's package lists change. The system's
# proxy and Valid-Until settings are carried over (they describe how to reach the mirror).
apt_download() {
  local apt=$cache/apt mirror security
  read -r mirror security < <("${helper[@]}" mirrors)
  mirror=${ASGID_AUTOBAHN_MIRROR:-$mirror}
  security=${ASGID_AUTOBAHN_SECURITY_MIRROR:-$security}
  mkdir -p "$apt"/{apt.conf.d,sources.list.d,preferences.d,lists/partial,archives/partial}
  : > "$apt/status"
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  cat > "$apt/sources.list" <<EOF
deb [signed-by=$keyring] $mirror bullseye main
deb [signed-by=$keyring] $security bullseye-security main
EOF
  {
    apt-config dump | grep -E '^Acquire::(https?::Proxy|Check-Valid-Until)' || true
    cat <<EOF
Dir::Etc::SourceList "$apt/sources.list";
Dir::Etc::SourceParts "$apt/sources.list.d";
Dir::Etc::Parts "$apt/apt.conf.d";
Dir::Etc::Main "$apt/apt.conf.main";
Dir::Etc::Preferences "$apt/preferences";
Dir::Etc::PreferencesParts "$apt/preferences.d";
Dir::State "$apt";
Dir::State::Lists "$apt/lists";
Dir::State::status "$apt/status";
Dir::Cache "$apt";
Dir::Cache::Archives "$apt/archives";
APT::Architecture "$(dpkg --print-architecture)";
APT::Sandbox::User "$(id -un)";
Acquire::Languages "none";
EOF
  } > "$apt/apt.conf"
  export APT_CONFIG=$apt/apt.conf
  apt-get update -qq
  rm -rf "$cache/debs" && mkdir -p "$cache/debs"
  (cd "$cache/debs" && apt-get download -qq "${debs[@]}")
  unset APT_CONFIG
  rm -rf "$apt/lists" "$apt"/*.bin  # 100+ MB of bullseye indexes, needed only for this
}

install_suite() {
  echo "autobahn.sh: installing the suite into $cache (once)"
  apt_download
  rm -rf "$py27" && mkdir -p "$py27/root"
  for deb in "$cache"/debs/*.deb; do dpkg -x "$deb" "$py27/root"; done

  # pip for Python 2 comes as wheels fetched by a Python 3 pip (same index config).
  local pip3=(/usr/bin/python3 -m pip)
  [ -x "$repo/.venv/bin/python" ] && pip3=("$repo/.venv/bin/python" -m pip)
  rm -rf "$cache/wheels"
  "${pip3[@]}" download -q --no-deps --only-binary :all: --python-version 2.7 \
    -d "$cache/wheels" "${bootstrap[@]}"
  py2 "$(echo "$cache"/wheels/pip-*.whl)/pip" install -q --user --no-index \
    --no-warn-script-location "$cache"/wheels/*.whl

  # wsaccel is a C extension: Debian's pyconfig.h includes the multiarch one, so both
  # include dirs of the unpacked headers go on CFLAGS.
  local inc=$py27/root/usr/include
  CFLAGS="-I$inc -I$inc/python2.7" PIP_CONSTRAINT=$requirements \
    py2 -m pip install -q --user --no-deps --no-warn-script-location -r "$requirements"
  py2 -m pip check
  py2 -c 'import wsaccel, autobahntestsuite' # the C extension really loads
  echo "$install_key" > "$py27/installed"
}

mkdir -p "$cache" || { echo "autobahn.sh: set ASGID_CACHE to a writable directory" >&2; exit 2; }
# Runs hold the lock shared while they use the install; an install (re)builds it only under
# the exclusive lock, so it never pulls the suite from under another run's wstest.
exec 9> "$cache/install.lock"
flock -s 9
if [ "$(cat "$py27/installed" 2>/dev/null)" != "$install_key" ]; then
  flock 9
  if [ "$(cat "$py27/installed" 2>/dev/null)" != "$install_key" ]; then
    start=$SECONDS
    install_suite
    echo "autobahn.sh: installed in $((SECONDS - start)) s"
  fi
  flock -s 9
fi
[ "$install_only" -eq 0 ] || exit 0

port=$("${helper[@]}" free-port)
if [ -n "$server_cmd" ]; then
  # Autobahn names its report files after the agent: keep it to safe characters.
  agent=$(basename "${server_cmd%% *}" | tr -c 'A-Za-z0-9_.\n-' _)
  command=${server_cmd//\{port\}/$port}
else
  agent=asgid
  bin=${ASGID_BIN:-$repo/build/master/asgid}
  [ -x "$bin" ] || { echo "autobahn.sh: no asgid binary at $bin (set ASGID_BIN)" >&2; exit 2; }
  # Autobahn's largest messages are 16 MiB (9.1.6, 9.2.6).
  command="$(printf '%q' "$bin") --host 127.0.0.1 --port $port --app-dir $(printf '%q' \
    "$repo/tests/autobahn") --ws-max-size 20000000 echo:app"
fi

if [ -z "$report_dir" ]; then
  report_dir=$(mktemp -d "${TMPDIR:-/tmp}/asgid-autobahn.XXXXXX")
fi
mkdir -p "$report_dir"
report_dir=$(cd "$report_dir" && pwd)
echo "autobahn.sh: reports in $report_dir"

# The server runs in its own session so that SIGTERM reaches it and every process it forks
# (asgid's workers, uvicorn's reloader) and nothing else.
server_log=$report_dir/server.log
echo "autobahn.sh: $command" | tee "$server_log"
PYTHONDONTWRITEBYTECODE=1 setsid bash -c "exec $command" >> "$server_log" 2>&1 < /dev/null 9>&- &
server_pid=$!
stop_server() {
  kill -TERM -- "-$server_pid" 2> /dev/null || return 0
  for _ in $(seq 100); do kill -0 "$server_pid" 2> /dev/null || return 0; sleep 0.1; done
  echo "autobahn.sh: the server ignored SIGTERM for 10 s; killing it" >&2
  kill -KILL -- "-$server_pid" 2> /dev/null || true
}
trap stop_server EXIT

# asgid says "Listening on" once a worker serves; another server is ready when it accepts.
ready=0
for _ in $(seq 300); do
  kill -0 "$server_pid" 2> /dev/null || break
  if [ -n "$server_cmd" ]; then
    "${helper[@]}" wait-port "$port" 0.1 && { ready=1; break; }
  else
    grep -q "Listening on" "$server_log" && { ready=1; break; }
    sleep 0.1
  fi
done
if [ "$ready" -eq 0 ]; then
  echo "autobahn.sh: the server did not start; its output:" >&2
  cat "$server_log" >&2
  exit 1
fi

# The case list Autobahn will run, from its own pattern matching: a case without a result
# (wstest stopped, the server died) must fail the run, not vanish from the counts.
spec=$report_dir/fuzzingclient.json
"${helper[@]}" spec "$spec" "$report_dir/reports" "$agent" "ws://127.0.0.1:$port" \
  "$cases" "$exclude"
py2 - "$spec" > "$report_dir/expected-cases.txt" <<'EOF'
import json, sys
from autobahntestsuite.case import (Cases, CaseBasename, CaseCategories, CaseSetname,
                                    CaseSubCategories)
from autobahntestsuite.caseset import CaseSet
case_set = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)
print("\n".join(case_set.parseSpecCases(json.load(open(sys.argv[1])))))
EOF
echo "autobahn.sh: running $(wc -l < "$report_dir/expected-cases.txt") cases ($cases)"

# wstest writes nothing but its reports (outdir); its cwd is the report dir all the same.
# A server that stops answering would leave wstest waiting; a fixed bound on the whole run
# would not fit both 1-11 (a minute) and 12-13 on a loaded machine (40 minutes). wstest logs a
# line per case; its own case timeouts are 100 s at most, but one 12.3.x case took 110 s on a
# busy machine: stop it after 10 minutes of silence.
stall=${ASGID_AUTOBAHN_STALL_TIMEOUT:-600}
start=$SECONDS
(cd "$report_dir" && exec "${py2[@]}" "$py27/user/bin/wstest" -m fuzzingclient -s "$spec") \
  > "$report_dir/wstest.log" 2>&1 &
wstest_pid=$!
trap 'kill "$wstest_pid" 2> /dev/null; stop_server' EXIT
last_size=-1 quiet=0
while kill -0 "$wstest_pid" 2> /dev/null && [ "$quiet" -lt "$stall" ]; do
  sleep 1
  size=$(stat -c %s "$report_dir/wstest.log")
  if [ "$size" -eq "$last_size" ]; then quiet=$((quiet + 1)); else quiet=0 last_size=$size; fi
done
if [ "$quiet" -ge "$stall" ]; then
  echo "autobahn.sh: wstest made no progress for $stall s; stopping it"
  kill "$wstest_pid" 2> /dev/null || true
fi
status=0
wait "$wstest_pid" || status=$?
elapsed=$((SECONDS - start))
if [ "$status" -ne 0 ]; then
  echo "autobahn.sh: wstest exited with status $status; last lines of $report_dir/wstest.log:"
  tail -n 20 "$report_dir/wstest.log"
fi
server_died=0
kill -0 "$server_pid" 2> /dev/null || server_died=1
stop_server
trap - EXIT

echo "autobahn.sh: $agent, wstest ran $elapsed s"
result=0
"${helper[@]}" summary "$report_dir/reports/index.json" "$report_dir/expected-cases.txt" \
  "$agent" || result=1
if [ "$server_died" -eq 1 ]; then
  echo "autobahn.sh: the server exited during the run; see $server_log"
  result=1
fi
# A worker that crashed on a frame (e.g. an ASan build) may have been respawned while the
# server lived on: its report in the log fails the run (the markers of tests/integration).
crash_markers='ERROR: (Address|Leak)Sanitizer|runtime error:|terminate called|Segmentation fault'
if grep -q -E "$crash_markers|Fatal Python error" "$server_log"; then
  echo "autobahn.sh: crash report in $server_log"
  result=1
fi
tracebacks=$(grep -c '^Traceback' "$server_log" || true)
[ "$tracebacks" -eq 0 ] || echo "autobahn.sh: note: $tracebacks Python traceback(s) in $server_log"
echo "autobahn.sh: report: $report_dir/reports/index.html"
exit "$result"
