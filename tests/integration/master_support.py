"""Machinery for the pre-fork master's tests (test_master_*.py), on top of support.py.

- `master` fixture: like conftest's `server`, plus what the master tests need: a command-line
  without the automatic --port (for --bind/--fd/systemd sockets), inherited descriptors
  (`pass_fds`, or a socket handed over as fd 3 with LISTEN_PID/LISTEN_FDS set by a tiny
  shell wrapper), crash markers a test provokes on purpose (a worker killed by SIGABRT prints
  "Fatal Python error"), and binary upgrades (the new master is in the same process group).
- /proc helpers: the master's worker children, their titles, uids, CPU time, zombies.
- `Load`: client threads that loop requests for a while and count what went wrong, split into
  refused connections and failed requests.
- `StderrTimeline`: when each stderr line arrived (backoff intervals).
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

import support
from support import APPS, ASGID_BIN, RawConnection, poll

MASTER_APP = "master_app:app"
MASTER_APP_FILE = APPS / "master_app.py"
WORKER_TITLE_RE = re.compile(r"^asgid: worker (\d+)\b")
MASTER_TITLE_RE = re.compile(r"^asgid: master\b")


# ---------------------------------------------------------------------------------------
# /proc
# ---------------------------------------------------------------------------------------

def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cmdline(pid: int) -> str:
    """/proc/PID/cmdline as ps shows it (NULs as spaces, trailing padding dropped)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()


def comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().rstrip("\n")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def status_field(pid: int, name: str) -> list[str]:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split()[1:]
    raise AssertionError(f"no {name} in /proc/{pid}/status")


def children(pid: int) -> list[int]:
    """Live (non-zombie) children of `pid`, from a scan of /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        st = proc_stat(int(entry))
        if st and st[1] == pid and st[0] not in ("Z", "X"):
            out.append(int(entry))
    return sorted(out)


def workers(master_pid: int) -> dict[int, int]:
    """{pid: K} for the master's children titled "asgid: worker K"."""
    out = {}
    for pid in children(master_pid):
        m = WORKER_TITLE_RE.match(cmdline(pid))
        if m:
            out[pid] = int(m.group(1))
    return out


def wait_workers(master_pid: int, predicate, timeout: float, what: str) -> dict[int, int]:
    """Polls the master's workers until `predicate(workers)` holds; fails with what was seen."""
    seen = poll(lambda: (lambda w: w if predicate(w) else None)(workers(master_pid)),
                timeout, 0.05)
    if seen is None:
        now = workers(master_pid)
        raise AssertionError(f"{what}: not within {timeout}s; master {master_pid} "
                             f"({'alive' if alive(master_pid) else 'gone'}) has workers {now}, "
                             f"children {[(c, cmdline(c)) for c in children(master_pid)]}")
    return seen


def wait_worker_count(master_pid: int, n: int, timeout: float = 10.0) -> dict[int, int]:
    return wait_workers(master_pid, lambda w: len(w) == n, timeout, f"{n} worker(s)")


def wait_gone(pid: int, timeout: float) -> bool:
    return bool(poll(lambda: not alive(pid), timeout, 0.05))


def read_pid_file(path) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


# ---------------------------------------------------------------------------------------
# Child subreaper: a master exec'd by USR2 outlives its parent; this machine's PID 1 does not
# reap orphans, so the test process adopts them to reap them (and learn their exit codes).
# ---------------------------------------------------------------------------------------

PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def set_child_subreaper(on: bool):
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap(pid: int, timeout: float) -> int | None:
    """Waits for an adopted child to exit; its exit code (negative: signal), None on timeout or
    when it is not our child."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if got == pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def reap_group(pgid: int):
    """Reaps whatever of the process group has already exited and is our child."""
    while True:
        try:
            res = os.waitid(os.P_PGID, pgid, os.WEXITED | os.WNOHANG)
        except ChildProcessError:
            return
        if res is None:
            return


# ---------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------

class MasterServer(support.Server):
    """support.Server with the master tests' extras (see the module docstring)."""

    def __init__(self, app, args=(), *, add_port=True, pass_fds=(), systemd_fd=None,
                 allow_markers=(), **kw):
        super().__init__(app, args, **kw)
        self.add_port = add_port
        self.pass_fds = tuple(pass_fds)
        self.systemd_fd = systemd_fd
        self.allow_markers = tuple(allow_markers)
        self.adopted = False  # set by tests that made the test process a subreaper
        self.other_masters: list[int] = []  # masters exec'd by USR2: SIGTERM at teardown

    def command(self) -> list[str]:
        cmd = [ASGID_BIN, *self.args]
        if self.add_port and self.port is not None and "--uds" not in self.args:
            cmd += ["--port", str(self.port)]
        if self.app is not None:
            cmd.append(self.app)
        if self.systemd_fd is not None:
            # LISTEN_PID must name asgid itself: the shell's pid, which exec keeps.
            cmd = ["sh", "-c", 'export LISTEN_PID=$$ LISTEN_FDS=1; exec "$0" "$@"', *cmd]
        return cmd

    def start(self, wait_ready: bool = True) -> "MasterServer":
        kw = {}
        if self.systemd_fd is not None:
            fd = self.systemd_fd

            def to_fd3():
                if fd != 3:
                    os.dup2(fd, 3)  # inheritable
                else:
                    os.set_inheritable(3, True)

            kw = {"preexec_fn": to_fd3, "close_fds": False}
        elif self.pass_fds:
            kw = {"pass_fds": self.pass_fds}
        self.proc = subprocess.Popen(self.command(), cwd=self.cwd, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True, **kw)
        self._stderr = support.OutputCollector(self.proc.stderr, "stderr")
        self._stdout = support.OutputCollector(self.proc.stdout, "stdout")
        support.LIVE_SERVERS.add(self)
        if wait_ready:
            self.wait_ready()
        return self

    def finish(self) -> list[str]:
        for pid in self.other_masters:
            if alive(pid):
                os.kill(pid, signal.SIGTERM)
                if self.adopted:
                    reap(pid, 8.0)
                poll(lambda: not alive(pid), 8.0, 0.05)
        if self.adopted and self.proc is not None and self.proc.poll() is not None:
            poll(lambda: (reap_group(self.proc.pid), not support.group_alive(self.proc.pid))[1],
                 3.0, 0.05)
        problems = super().finish()
        if self.adopted and self.proc is not None:
            reap_group(self.proc.pid)
        return [p for p in problems
                if not any(repr(marker) in p for marker in self.allow_markers)]

    # -- conveniences ------------------------------------------------------------------
    def workers(self) -> dict[int, int]:
        return workers(self.pid)

    def get(self, path: str = "/", timeout: float = 5.0) -> httpx.Response:
        return httpx.get(self.url + path, timeout=timeout)

    def worker_pid_from_request(self) -> int:
        r = self.get("/pid")
        assert r.status_code == 200, r
        return int(r.text)

    def stderr_since(self, offset: int) -> str:
        return self.stderr_text()[offset:]


@pytest.fixture
def master():
    """start(app, *options, env=, cwd=, port=, add_port=, pass_fds=, systemd_fd=,
    allow_markers=, allow_tracebacks=, wait_ready=, ready_timeout=) -> MasterServer.
    Teardown as conftest's `server`: SIGTERM, then the same checks."""
    started: list[MasterServer] = []

    def start(app=MASTER_APP, *args, env=None, cwd=APPS, port="auto", add_port=True,
              pass_fds=(), systemd_fd=None, allow_markers=(), allow_tracebacks=False,
              wait_ready=True, ready_timeout=20.0):
        srv = MasterServer(app, args, env=env, cwd=cwd, port=port, add_port=add_port,
                           pass_fds=pass_fds, systemd_fd=systemd_fd,
                           allow_markers=allow_markers, ready_timeout=ready_timeout,
                           allow_tracebacks=allow_tracebacks)
        started.append(srv)
        srv.start(wait_ready=wait_ready)
        return srv

    yield start
    problems = []
    for srv in started:
        problems += srv.finish()
    assert not problems, "; ".join(problems)


def run_to_exit(args, *, env=None, cwd=APPS, timeout=10.0):
    """Runs asgid expecting it to exit by itself: (exit code, stderr, seconds)."""
    t0 = time.monotonic()
    rc, _out, err = support.run_cli(args, timeout=timeout, env=env, cwd=cwd)
    return rc, err, time.monotonic() - t0


def app_copy(tmp_path: Path, version: str = "original") -> Path:
    """A copy of master_app.py in its own directory (for --app-dir), with VERSION set."""
    d = tmp_path / "app"
    d.mkdir(exist_ok=True)
    write_app(d, version)
    return d


def write_app(directory: Path, version: str):
    text = MASTER_APP_FILE.read_text()
    assert 'VERSION = "original"' in text
    text = text.replace('VERSION = "original"', f"VERSION = {version!r}")
    atomic_write(directory / "master_app.py", text)


def atomic_write(path: Path, text: str):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def listening_socket(family=socket.AF_INET, address=("127.0.0.1", 0)) -> socket.socket:
    s = socket.socket(family, socket.SOCK_STREAM)
    if family != socket.AF_UNIX:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(address)
    s.listen(128)
    return s


def get_uds(path: str, target: str = "/pid", timeout: float = 5.0) -> support.Response:
    with RawConnection(uds=path) as conn:
        conn.request("GET", target, headers=[("Connection", "close")])
        return conn.read_response("GET", timeout)


def get_tcp(port: int, target: str = "/pid", host: str = "127.0.0.1",
            timeout: float = 5.0) -> support.Response:
    with RawConnection(port, host=host) as conn:
        conn.request("GET", target, headers=[("Connection", "close")])
        return conn.read_response("GET", timeout)


# ---------------------------------------------------------------------------------------
# Looping clients
# ---------------------------------------------------------------------------------------

class Load:
    """Client threads requesting /pid in a loop until stop(): `fresh` threads open a new
    connection per request (raw socket, so a refused connection is told apart), `keepalive`
    threads each reuse one httpx.Client (which reconnects after `connection: close`)."""

    def __init__(self, port: int, fresh: int = 2, keepalive: int = 2, path: str = "/pid",
                 pause: float = 0.0, fresh_pause: float = 0.002):
        self.port = port
        self.path = path
        self.pause = pause
        self.fresh_pause = fresh_pause  # bounds the sockets left in TIME_WAIT
        self.ok = 0
        self.refused = 0
        self.failures: list[str] = []
        self.refusals: list[str] = []
        self.pids: dict[int, int] = {}
        self.closes = 0  # responses that carried connection: close (keep-alive threads)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = ([threading.Thread(target=self._fresh, daemon=True, name=f"fresh{i}")
                          for i in range(fresh)] +
                         [threading.Thread(target=self._keepalive, daemon=True, name=f"ka{i}")
                          for i in range(keepalive)])

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout: float = 15.0):
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        stuck = [t.name for t in self._threads if t.is_alive()]
        assert not stuck, f"client threads still running after {timeout}s: {stuck}"

    def _record(self, body: bytes | str, status: int):
        with self._lock:
            if status == 200:
                self.ok += 1
                try:
                    pid = int(body)
                    self.pids[pid] = self.pids.get(pid, 0) + 1
                except ValueError:
                    pass
            else:
                self.failures.append(f"status {status}: {body[:100]!r}")

    def _fail(self, what: str):
        with self._lock:
            self.failures.append(what)

    def _refuse(self, what: str):
        with self._lock:
            self.refused += 1
            self.refusals.append(what)

    def _fresh(self):
        while not self._stop.is_set():
            try:
                conn = RawConnection(self.port)
            except ConnectionRefusedError as e:
                self._refuse(f"fresh connect: {e!r}")
                time.sleep(0.01)
                continue
            except OSError as e:
                self._fail(f"fresh connect: {e!r}")
                time.sleep(0.01)
                continue
            try:
                conn.request("GET", self.path, headers=[("Connection", "close")])
                r = conn.read_response("GET", 10.0)
                self._record(r.body, r.status)
            except (OSError, AssertionError) as e:
                self._fail(f"fresh request: {e!r}"[:300])
            finally:
                conn.close()
            if self.pause or self.fresh_pause:
                time.sleep(max(self.pause, self.fresh_pause))

    def _keepalive(self):
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10.0) as client:
            while not self._stop.is_set():
                try:
                    r = client.get(self.path)
                    if r.headers.get("connection", "").lower() == "close":
                        with self._lock:
                            self.closes += 1
                    self._record(r.text, r.status_code)
                except httpx.ConnectError as e:
                    self._refuse(f"keep-alive connect: {e!r}")
                    time.sleep(0.01)
                except httpx.HTTPError as e:
                    self._fail(f"keep-alive request: {type(e).__name__}: {e}"[:300])
                if self.pause:
                    time.sleep(self.pause)

    def summary(self) -> str:
        return (f"ok={self.ok} failed={len(self.failures)} refused={self.refused} "
                f"pids={sorted(self.pids)} closes={self.closes} "
                f"first failures={self.failures[:5]} first refusals={self.refusals[:3]}")


# ---------------------------------------------------------------------------------------
# stderr with arrival times
# ---------------------------------------------------------------------------------------

class StderrTimeline:
    """Polls a server's stderr every 10 ms and notes when each complete line arrived."""

    def __init__(self, srv: support.Server):
        self.srv = srv
        self.lines: list[tuple[float, str]] = []
        self._offset = len(srv.stderr_text())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            text = self.srv.stderr_text()
            end = text.rfind("\n", self._offset)
            if end >= 0:
                now = time.monotonic()
                for line in text[self._offset:end].split("\n"):
                    self.lines.append((now, line))
                self._offset = end + 1
            time.sleep(0.01)

    def stop(self):
        self._stop.set()
        self._thread.join(2)

    def times(self, pattern) -> list[float]:
        rx = re.compile(pattern)
        return [t for t, line in self.lines if rx.search(line)]

