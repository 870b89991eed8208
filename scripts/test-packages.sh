#!/usr/bin/env bash
# Builds and tests asgid's .deb (Debian 12 and 13) and .rpm: the CI packaging stage. Runs as
# root (through sudo when started by another user); installs the tools it lacks with apt-get.
#
#   1. the Debian 12 .deb (scripts/package.sh deb bookworm), lintian (no error, no warning);
#      then in a fresh Debian 12 minbase root: apt-get install ./asgid_*.deb (dependencies from
#      the archive), a virtualenv and a tiny app, /usr/bin/asgid started as the asgid user with
#      the shipped config adapted (systemd does not run in a chroot), a request with curl,
#      SIGHUP (a rolling reload completes, requests still answered), SIGUSR1 (a rotated log
#      file is reopened), SIGTERM (clean exit 0), then apt-get purge --autoremove leaves no
#      file behind (the root's file list before the install and after the purge are compared)
#   2. the same for the Debian 13 .deb, built in scripts/test-trixie.sh's root, tested in a
#      fresh Debian 13 minbase root
#   3. the .rpm (scripts/package.sh rpm), rpmlint with packaging/rpm/rpmlint.toml (no error),
#      and its file list, scriptlets and dependencies (rpm -qlp, --scripts, -qRp)
#
# Principle: the minbase roots are made once and cached in ASGID_TRIXIE_CACHE (default
# /var/cache/asgid, beside test-trixie.sh's root) and each test runs in a throw-away copy, so
# a test never sees what an earlier one installed. The packages build no tests (CI ran them);
# the stage prints its runtime. Any failure stops the script with a message and exit 1.
#
# Usage: scripts/test-packages.sh [deb-bookworm|deb-trixie|rpm]...   (default: all three)
#        ASGID_PACKAGES_DIR=dist scripts/test-packages.sh   tests the packages found there
#                                                            (from scripts/package.sh) instead
#                                                            of building them
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/debian-root.sh
. "$here/scripts/lib/debian-root.sh"
cache=${ASGID_TRIXIE_CACHE:-/var/cache/asgid}
work=""
port=0  # set from the "Listening on" line: the daemon binds port 0 (a free port)

die() { echo "test-packages.sh: FAILED: $*" >&2; exit 1; }
step() { echo "=== $*"; }

cleanup() {
  root_unmount_all
  if [ -n "$work" ]; then rm -rf "$work"; fi
}

# A throw-away copy of the cached minbase root of CODENAME, with curl and python3-venv (the
# test's own tools) and systemd (on a server it is there before asgid; the package needs its
# systemd-sysusers), installed before the "before" file list is taken.
fresh_root() { # fresh_root CODENAME DEST
  local codename=$1 base=$cache/packages-$1-root
  root_ensure "$codename" "$base" "minbase $codename $root_mirror curl python3-venv systemd" \
    "$cache/packages-$codename.log" curl ca-certificates python3-venv systemd
  cp -a "$base" "$2"
}

# Every path in ROOT but the package manager's own state, caches and the pseudo file
# systems: what an install may add and a purge must take away again.
file_list() { # file_list ROOT
  (cd "$1" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./tmp \
     -o -path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/cache \
     -o -path ./var/log/apt -o -path ./root \) -prune -o -print) | sort |
    grep -v -x -e './var/log/dpkg.log' -e './var/log/alternatives.log' -e './etc/ld.so.cache' \
      -e './etc/passwd-' -e './etc/group-' -e './etc/shadow-' -e './etc/gshadow-'
}

# The tiny app, its virtualenv and the shipped config adapted to them, inside ROOT.
setup_app() { # setup_app ROOT
  mkdir -p "$1/opt/asgid-test/app"
  cat >"$1/opt/asgid-test/app/hello.py" <<'APP'
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello from the package\n"})
APP
  in_root "$1" "python3 -m venv --without-pip /opt/asgid-test/venv"
  # The shipped file with the keys a real deployment sets uncommented and filled in.
  sed -e 's|^app: main:app$|app: hello:app|' \
      -e 's|^# app_dir: .*|app_dir: /opt/asgid-test/app|' \
      -e 's|^# venv:.*|venv: /opt/asgid-test/venv|' \
      -e "s|^# port: .*|port: 0|" \
      -e 's|^# workers: .*|workers: 2|' \
      -e 's|^# error_logfile:.*|error_logfile: /var/log/asgid/error.log|' \
      -e 's|^# access_logfile:.*|access_logfile: /var/log/asgid/access.log|' \
      -e 's|^# pid_file:.*|pid_file: /run/asgid/asgid.pid|' \
      "$1/etc/asgid/asgid.yaml" >"$1/opt/asgid-test/asgid.yaml"
  local key
  for key in app app_dir venv port workers error_logfile access_logfile pid_file; do
    grep -q "^$key: " "$1/opt/asgid-test/asgid.yaml" || die "could not set $key in the shipped config"
  done
}

# Waits until FILE (in ROOT) has a line matching PATTERN, for up to 30 s.
wait_for_line() { # wait_for_line ROOT FILE PATTERN WHAT
  local i
  for ((i = 0; i < 300; i++)); do
    if grep -q -- "$3" "$1$2" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  tail -n 20 "$1$2" >&2 || true
  die "$4: no line matching '$3' in $2 after 30 s"
}

request() { # request ROOT WHAT
  local body
  body=$(in_root "$1" "curl -sS --max-time 10 http://127.0.0.1:$port/") || die "$2: curl failed"
  [ "$body" = "hello from the package" ] || die "$2: unexpected answer '$body'"
}

# asgid as systemd would run it (as asgid, /run/asgid and /var/log/asgid made for it), and the
# signals the units and the logrotate snippet send.
run_daemon() { # run_daemon ROOT CODENAME
  local r=$1 codename=$2 pid
  in_root "$r" "install -d -o asgid -g asgid /run/asgid /var/log/asgid
    cd / && setsid setpriv --reuid=asgid --regid=asgid --init-groups \
      /usr/bin/asgid --check-config --config /opt/asgid-test/asgid.yaml
    setsid setpriv --reuid=asgid --regid=asgid --init-groups \
      /usr/bin/asgid --config /opt/asgid-test/asgid.yaml </dev/null >/dev/null 2>/run/asgid/stderr &"
  wait_for_line "$r" /var/log/asgid/error.log "Listening on" "$codename: start"
  wait_for_line "$r" /run/asgid/asgid.pid "[0-9]" "$codename: pid file"
  port=$(grep -o -m 1 'Listening on http://127\.0\.0\.1:[0-9]*' "$r/var/log/asgid/error.log" | sed 's/.*://')
  pid=$(cat "$r/run/asgid/asgid.pid")
  [ "$(stat -c %u "/proc/$pid")" = "$(in_root "$r" "id -u asgid")" ] ||
    die "$codename: the master does not run as asgid"
  request "$r" "$codename: first request"
  step "$codename: GET / answered by asgid (pid $pid, user asgid)"

  kill -HUP "$pid"
  wait_for_line "$r" /var/log/asgid/error.log "Reload complete" "$codename: SIGHUP"
  request "$r" "$codename: request after SIGHUP"
  step "$codename: SIGHUP: rolling reload complete, still answering"

  mv "$r/var/log/asgid/access.log" "$r/var/log/asgid/access.log.1"
  kill -USR1 "$pid"
  wait_for_line "$r" /var/log/asgid/error.log "SIGUSR1: reopened the log files" "$codename: SIGUSR1"
  sleep 0.5 # the workers reopen theirs when the master's message reaches them
  request "$r" "$codename: request after SIGUSR1"
  wait_for_line "$r" /var/log/asgid/access.log "GET / " "$codename: access log after SIGUSR1"
  step "$codename: SIGUSR1: access.log reopened (the request after it went to the new file)"

  kill -TERM "$pid"
  local i
  for ((i = 0; i < 400; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; die "$codename: still running 40 s after SIGTERM"; fi
  grep -q "Master (pid $pid) exiting with code 0" "$r/var/log/asgid/error.log" ||
    { tail -n 20 "$r/var/log/asgid/error.log" >&2; die "$codename: the master did not exit with code 0"; }
  # setsid made the master a process group leader: its workers are in its group.
  ! pgrep -g "$pid" >/dev/null || die "$codename: worker processes left after SIGTERM"
  ! grep -q "Traceback" "$r/var/log/asgid/error.log" ||
    { cat "$r/var/log/asgid/error.log" >&2; die "$codename: errors in the log"; }
  step "$codename: SIGTERM: stopped"
}

test_deb() { # test_deb CODENAME
  local codename=$1 deb r before after
  local suffix=deb12
  [ "$codename" = bookworm ] || suffix=deb13
  if [ -n "${ASGID_PACKAGES_DIR:-}" ]; then
    deb=$(ls "$ASGID_PACKAGES_DIR"/asgid_*+"$suffix"_*.deb 2>/dev/null | tail -n 1 || true)
    step "$codename: testing $deb (built before: ASGID_PACKAGES_DIR)"
  else
    step "$codename: building the .deb"
    deb=$(ASGID_DIST_DIR=$work/dist "$here/scripts/package.sh" deb "$codename" | tail -n 1)
  fi
  [ -f "$deb" ] || die "$codename: scripts/package.sh deb $codename made no .deb"
  step "$codename: lintian $(basename "$deb")"
  lintian --fail-on error,warning --display-info "$deb" >"$work/lintian-$codename.txt" 2>&1 ||
    { cat "$work/lintian-$codename.txt" >&2; die "$codename: lintian reports errors or warnings"; }
  sed 's/^/    /' "$work/lintian-$codename.txt"
  r=$work/$codename-root
  fresh_root "$codename" "$r"
  root_copy_host_config "$r"
  root_mount_system "$r"
  before=$(file_list "$r")
  cp "$deb" "$r/tmp/"
  step "$codename: apt-get install ./$(basename "$deb")"
  in_root "$r" "apt-get update -qq && apt-get install -y -qq --no-install-recommends /tmp/$(basename "$deb") >/tmp/apt-install.log 2>&1 ||
    { tail -n 30 /tmp/apt-install.log; exit 1; }" || die "$codename: apt-get install failed"
  local f
  for f in /usr/bin/asgid /usr/share/man/man1/asgid.1.gz /usr/share/man/man5/asgid.yaml.5.gz \
           /etc/asgid/asgid.yaml /etc/logrotate.d/asgid /usr/lib/systemd/system/asgid.service \
           /usr/lib/systemd/system/asgid@.service /usr/lib/systemd/system/asgid.socket \
           /usr/lib/sysusers.d/asgid.conf /usr/share/doc/asgid/copyright /usr/share/doc/asgid/README.md.gz; do
    [ -e "$r$f" ] || die "$codename: the package did not install $f"
  done
  grep -q '^/etc/asgid/asgid.yaml$' "$r/var/lib/dpkg/info/asgid.conffiles" || die "$codename: asgid.yaml is no conffile"
  in_root "$r" "getent passwd asgid >/dev/null" || die "$codename: no asgid user after the install"
  [ ! -e "$r/etc/systemd/system/multi-user.target.wants/asgid.service" ] || die "$codename: asgid.service enabled on install"
  [ ! -e "$r/etc/systemd/system/sockets.target.wants/asgid.socket" ] || die "$codename: asgid.socket enabled on install"
  in_root "$r" "asgid --check-config --config /etc/asgid/asgid.yaml >/dev/null" || die "$codename: the shipped config fails --check-config"
  step "$codename: installed: files, conffile, user asgid, units not enabled, config ok"

  setup_app "$r"
  run_daemon "$r" "$codename"

  rm -rf "$r/opt/asgid-test"
  step "$codename: apt-get purge --autoremove asgid"
  in_root "$r" "apt-get purge -y -qq --autoremove asgid >/tmp/apt-purge.log 2>&1 || { tail -n 30 /tmp/apt-purge.log; exit 1; }
    rm -f /tmp/apt-install.log /tmp/apt-purge.log /tmp/$(basename "$deb")" || die "$codename: apt-get purge failed"
  after=$(file_list "$r")
  if [ "$before" != "$after" ]; then
    diff <(echo "$before") <(echo "$after") >&2 || true
    die "$codename: the root's files differ between before the install and after the purge (above)"
  fi
  step "$codename: purge left no file behind"
  root_unmount_all
  rm -rf "$r"
}

test_rpm() {
  local rpm
  if [ -n "${ASGID_PACKAGES_DIR:-}" ]; then
    rpm=$(ls "$ASGID_PACKAGES_DIR"/asgid-[0-9]*.rpm 2>/dev/null | grep -v '\.src\.rpm$' | tail -n 1 || true)
    step "rpm: testing $rpm (built before: ASGID_PACKAGES_DIR)"
  else
    step "rpm: building"
    rpm=$(ASGID_DIST_DIR=$work/dist "$here/scripts/package.sh" rpm | tail -n 1)
  fi
  [ -f "$rpm" ] || die "scripts/package.sh rpm made no .rpm"
  step "rpm: rpmlint $(basename "$rpm") (packaging/rpm/rpmlint.toml)"
  rpmlint -c "$here/packaging/rpm/rpmlint.toml" "$rpm" >"$work/rpmlint.txt" 2>&1 || true
  sed 's/^/    /' "$work/rpmlint.txt"
  grep -q ' 0 errors' "$work/rpmlint.txt" || die "rpmlint reports errors"
  "$here/scripts/lib/check-rpm.sh" "$rpm" || die "rpm query checks"
}

main() {
  local self started=$SECONDS
  self=$(readlink -f "$0")
  if [ "$(id -u)" -ne 0 ]; then exec sudo --preserve-env "$self" "$@"; fi
  host_tools dpkg-buildpackage:dpkg-dev dh:debhelper fakeroot:fakeroot lintian:lintian \
    rpmbuild:rpm rpmlint:rpmlint checkbashisms:devscripts debootstrap:debootstrap curl:curl
  mkdir -p "$cache"
  exec 8>"$cache/packages.lock"
  flock 8
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  work=$(mktemp -d /tmp/asgid-test-packages.XXXXXX)
  local stages=("$@")
  [ ${#stages[@]} -gt 0 ] || stages=(deb-bookworm deb-trixie rpm)
  local stage
  for stage in "${stages[@]}"; do
    case "$stage" in
      deb-bookworm) test_deb bookworm ;;
      deb-trixie) test_deb trixie ;;
      rpm) test_rpm ;;
      *) die "unknown stage '$stage' (deb-bookworm, deb-trixie, rpm)" ;;
    esac
  done
  echo "=== packages: ${stages[*]}: all passed in $((SECONDS - started)) s"
}

main "$@"; exit
