"""Principle: the integration tests drive the real asgid binary from the outside, the way a
client and an operator would: start it as a process on a free port, wait for its readiness
line, talk HTTP/1.1 to it (httpx when the client side does not matter, a raw socket when the
bytes on the wire are the point), then stop it and check that it exited by itself rather than
by a signal. Everything here is bounded in time; nothing waits forever.
"""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
APPS = HERE / "apps"
ASGID_BIN = os.environ.get("ASGID_BIN", str(HERE.parent.parent / "build" / "master" / "asgid"))

# asgid's readiness line; the second alternative lets the suite's logic be checked against a
# uvicorn stand-in while the binary is being written.
READY_RE = re.compile(r"(?:Listening on|Uvicorn running on) (\S+)")

# A report any sanitizer or the C++ runtime prints when the process is broken.
CRASH_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                 "terminate called", "Segmentation fault", "Fatal Python error")

LIVE_SERVERS: set["Server"] = set()


def project_venv() -> str | None:
    """The virtualenv the tests run in; the server gets it as VIRTUAL_ENV (its --venv default)
    so apps can import starlette, fastapi and httpx."""
    if os.environ.get("VIRTUAL_ENV"):
        return os.environ["VIRTUAL_ENV"]
    if sys.prefix != sys.base_prefix:
        return sys.prefix
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASGID_")}
    venv = project_venv()
    if venv:
        env["VIRTUAL_ENV"] = venv
    env["PYTHONUNBUFFERED"] = "1"
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


class OutputCollector:
    """Reads one of the child's pipes on a thread so the child never blocks on a full pipe,
    and lets tests wait for a line matching a pattern."""

    def __init__(self, pipe, name: str):
        self._pipe = pipe
        self._chunks: list[str] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"collect-{name}", daemon=True)
        self._thread.start()

    def _run(self):
        for line in iter(self._pipe.readline, b""):
            with self._cond:
                self._chunks.append(line.decode("utf-8", "replace"))
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def text(self) -> str:
        with self._cond:
            return "".join(self._chunks)

    def wait_for(self, pattern, timeout: float, start: int = 0):
        """First match of `pattern` (a regex or compiled regex) in the text from offset `start`,
        or None after `timeout` seconds or once the pipe has closed without a match."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search("".join(self._chunks), start)
                if m or self._closed:
                    return m
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.1))

    def join(self, timeout: float):
        self._thread.join(timeout)


class ServerStartError(AssertionError):
    pass


class Server:
    """One asgid process. `args` are command-line options; the app spec goes last."""

    def __init__(self, app: str | None, args=(), *, env: dict | None = None, cwd=APPS,
                 port="auto", ready_timeout: float = 15.0, allow_tracebacks: bool = False):
        self.app = app
        self.allow_tracebacks = allow_tracebacks
        self.args = [str(a) for a in args]
        self.env = server_env(env)
        self.cwd = str(cwd)
        self.port = free_port() if port == "auto" else port
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen | None = None
        self.listen_address: str | None = None
        self.killed_on_purpose = False
        self._stderr: OutputCollector | None = None
        self._stdout: OutputCollector | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def command(self) -> list[str]:
        cmd = [ASGID_BIN, *self.args]
        if self.port is not None and "--uds" not in self.args:
            cmd += ["--port", str(self.port)]
        if self.app is not None:
            cmd.append(self.app)
        return cmd

    def start(self, wait_ready: bool = True) -> "Server":
        self.proc = subprocess.Popen(self.command(), cwd=self.cwd, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self._stderr = OutputCollector(self.proc.stderr, "stderr")
        self._stdout = OutputCollector(self.proc.stdout, "stdout")
        LIVE_SERVERS.add(self)
        if wait_ready:
            self.wait_ready()
        return self

    def wait_ready(self):
        m = self._stderr.wait_for(READY_RE, self.ready_timeout)
        if m is None:
            rc = self.wait_exit(1.0)
            state = f"exited with {rc}" if rc is not None else "still running"
            raise ServerStartError(
                f"asgid never printed 'Listening on' within {self.ready_timeout}s ({state});"
                f" command {self.command()}\n--- stderr ---\n{self.stderr_text()[-4000:]}")
        self.listen_address = m.group(1)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stderr_text(self) -> str:
        return self._stderr.text() if self._stderr else ""

    def stdout_text(self) -> str:
        return self._stdout.text() if self._stdout else ""

    def wait_stderr(self, pattern, timeout: float = 5.0, start: int = 0):
        return self._stderr.wait_for(pattern, timeout, start)

    def wait_stdout(self, pattern, timeout: float = 5.0, start: int = 0):
        return self._stdout.wait_for(pattern, timeout, start)

    def signal(self, sig: int):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        """SIGKILL on purpose (the teardown will not count it as a crash)."""
        self.killed_on_purpose = True
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        kill_group(self.proc.pid)

    def rss_kb(self) -> int:
        return read_rss_kb(self.pid)

    def finish(self) -> list[str]:
        """Stop the server if it still runs and say what went wrong, if anything."""
        problems = []
        if self.proc is None:
            return problems
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if self.wait_exit(5.0) is None:
                problems.append(f"{self.app}: did not exit within 5 s of SIGTERM")
                self.killed_on_purpose = True
                self.proc.kill()
                self.proc.wait(5)
        rc = self.proc.returncode
        if not poll(lambda: not group_alive(self.proc.pid), 2.0):
            kill_group(self.proc.pid)
            if not self.killed_on_purpose:
                problems.append(f"{self.app}: processes of its group outlived it by 2 s")
        if rc is not None and rc < 0 and not self.killed_on_purpose:
            problems.append(f"{self.app}: died from signal {signal.Signals(-rc).name}")
        self._stderr.join(2)
        self._stdout.join(2)
        err = self.stderr_text()
        for marker in CRASH_MARKERS:
            if marker in err:
                problems.append(f"{self.app}: stderr contains {marker!r}")
        if not self.allow_tracebacks and "Traceback (most recent call last)" in err:
            # Only tests that make the app fail expect tracebacks; any other one is the
            # server's own Python code failing.
            tail = err[err.index("Traceback (most recent call last)"):][:1500]
            problems.append(f"{self.app}: unexpected traceback in the error log:\n{tail}")
        LIVE_SERVERS.discard(self)
        return problems


def kill_group(pgid: int) -> bool:
    """SIGKILLs whatever is left of a process group; True if something was left."""
    try:
        os.killpg(pgid, signal.SIGKILL)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def read_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def tree_rss_kb(pid: int) -> int:
    """RSS of a process and its direct children (asgid may serve from worker processes)."""
    total = read_rss_kb(pid)
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        children = []
    for c in children:
        try:
            total += read_rss_kb(c)
        except (OSError, AssertionError):
            pass
    return total


def run_cli(args, *, timeout: float = 10.0, env: dict | None = None, cwd=APPS):
    """Runs asgid to completion (for --help, --version, and startup failures)."""
    proc = subprocess.Popen([ASGID_BIN, *[str(a) for a in args]], cwd=str(cwd),
                            env=server_env(env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        stdout, stderr = proc.communicate(timeout=5)
        raise AssertionError(f"asgid {args} still running after {timeout} s (killed)\n"
                             f"{stderr.decode('utf-8', 'replace')[-2000:]}") from None
    kill_group(proc.pid)
    out = stdout.decode("utf-8", "replace")
    err = stderr.decode("utf-8", "replace")
    assert proc.returncode >= 0, f"asgid died from signal {-proc.returncode}\n{err[-3000:]}"
    return proc.returncode, out, err


def wait_for_file(path, predicate=lambda text: bool(text), timeout: float = 5.0) -> str:
    """Polls a file written by an app until `predicate(content)` holds; returns the content
    (possibly failing the predicate when the time is up)."""
    deadline = time.monotonic() + timeout
    text = ""
    while True:
        try:
            text = Path(path).read_text()
        except FileNotFoundError:
            text = ""
        if predicate(text) or time.monotonic() >= deadline:
            return text
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------
# Raw HTTP/1.1 client
# ---------------------------------------------------------------------------------------

@dataclass
class Response:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    chunked: bool = False
    raw_head: bytes = b""
    interim: list["Response"] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        values = self.header_all(name)
        assert len(values) <= 1, f"header {name} repeated: {values}"
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    def connection_tokens(self) -> set[str]:
        return {t.strip().lower() for v in self.header_all("connection") for t in v.split(",")}


class IncompleteResponse(AssertionError):
    """The peer closed (or went silent) before a whole response arrived."""

    def __init__(self, why: str, received: bytes, head: Response | None = None):
        super().__init__(f"{why}; received {received[:300]!r}")
        self.why = why
        self.received = received
        self.head = head


class RawConnection:
    def __init__(self, port: int | None = None, *, uds: str | None = None,
                 host: str = "127.0.0.1", connect_timeout: float = 5.0):
        if uds:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(connect_timeout)
            self.sock.connect(uds)
        else:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.sock = socket.socket(family, socket.SOCK_STREAM)
            self.sock.settimeout(connect_timeout)
            self.sock.connect((host, port))
        self.sock.settimeout(None)
        self.sock.setblocking(True)
        self.buf = bytearray()
        self.eof = False
        self.reset = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    @property
    def local_port(self) -> int:
        return self.sock.getsockname()[1]

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> bool:
        """Receives more bytes into the buffer; False at EOF, reset or deadline."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([self.sock], [], [], left)
        if not ready:
            return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            self.eof = self.reset = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _take(self, n: int) -> bytes:
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_until(self, marker: bytes, timeout: float = 5.0, limit: int = 1 << 20) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                return self._take(i + len(marker))
            if len(self.buf) > limit:
                raise IncompleteResponse(f"no {marker!r} within {limit} bytes", bytes(self.buf))
            if not self._fill(deadline):
                why = "connection closed" if self.eof else f"timeout {timeout}s"
                raise IncompleteResponse(f"{why} before {marker!r}", bytes(self.buf))

    def read_exact(self, n: int, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            if not self._fill(deadline):
                why = "connection closed" if self.eof else f"timeout {timeout}s"
                raise IncompleteResponse(f"{why} after {len(self.buf)} of {n} bytes",
                                         bytes(self.buf))
        return self._take(n)

    def read_until_close(self, timeout: float = 5.0) -> tuple[bytes, bool]:
        """All bytes until the peer closes; (data, closed) where closed is False on timeout."""
        deadline = time.monotonic() + timeout
        while self._fill(deadline):
            pass
        return self._take(len(self.buf)), self.eof

    def wait_closed(self, timeout: float = 5.0) -> bool:
        """True when the peer closes within `timeout`; received bytes stay in the buffer."""
        deadline = time.monotonic() + timeout
        while self._fill(deadline):
            pass
        return self.eof

    def request(self, method: str, path: str, headers=(), body: bytes = b"",
                version: str = "HTTP/1.1", host: str | None = "test") -> None:
        lines = [f"{method} {path} {version}"]
        if host is not None:
            lines.append(f"Host: {host}")
        lines += [f"{k}: {v}" for k, v in headers]
        if body and not any(k.lower() in ("content-length", "transfer-encoding")
                            for k, _ in headers):
            lines.append(f"Content-Length: {len(body)}")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def read_head(self, timeout: float = 5.0) -> Response:
        raw = self.read_until(b"\r\n\r\n", timeout)
        return parse_head(raw)

    def read_response(self, method: str = "GET", timeout: float = 5.0,
                      keep_interim: bool = True) -> Response:
        """Reads one final response (1xx interim responses are collected in .interim)."""
        deadline = time.monotonic() + timeout
        interim = []
        while True:
            head = self.read_head(max(0.0, deadline - time.monotonic()))
            if 100 <= head.status < 200 and head.status != 101:
                interim.append(head)
                if not keep_interim:
                    return head
                continue
            break
        head.interim = interim
        left = lambda: max(0.0, deadline - time.monotonic())  # noqa: E731
        try:
            head.body, head.chunked = self._read_body(head, method, left)
        except IncompleteResponse as e:
            e.head = head
            raise
        return head

    def _read_body(self, head: Response, method: str, left) -> tuple[bytes, bool]:
        # RFC 9112 section 6.3, in order.
        if method == "HEAD" or head.status in (204, 304) or 100 <= head.status < 200:
            return b"", False
        te = ",".join(head.header_all("transfer-encoding")).lower()
        if te:
            if te.split(",")[-1].strip() != "chunked":
                raise AssertionError(f"response transfer-encoding {te!r} is not chunked")
            return self._read_chunked(left), True
        lengths = head.header_all("content-length")
        if lengths:
            assert len(set(lengths)) == 1, f"response content-length repeated: {lengths}"
            return self.read_exact(int(lengths[0]), left()), False
        data, closed = self.read_until_close(left())
        if not closed:
            raise IncompleteResponse("close-delimited body did not end", data)
        return data, False

    def _read_chunked(self, left) -> bytes:
        body = bytearray()
        while True:
            line = self.read_until(b"\r\n", left())
            size_text = line[:-2].split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9A-Fa-f]+", size_text):
                raise AssertionError(f"bad chunk-size line in response: {line!r}")
            size = int(size_text, 16)
            if size == 0:
                while self.read_until(b"\r\n", left()) != b"\r\n":  # trailer section
                    pass
                return bytes(body)
            body += self.read_exact(size, left())
            crlf = self.read_exact(2, left())
            if crlf != b"\r\n":
                raise AssertionError(f"chunk not followed by CRLF: {crlf!r}")


def parse_head(raw: bytes) -> Response:
    text = raw.decode("latin-1")
    lines = text[:-4].split("\r\n")
    m = re.fullmatch(r"(HTTP/\d\.\d) (\d{3})(?: (.*))?", lines[0])
    if not m:
        raise AssertionError(f"bad status line {lines[0]!r}")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise AssertionError(f"bad response header line {line!r}")
        headers.append((name.lower(), value.strip(" \t")))
    return Response(m.group(1), int(m.group(2)), m.group(3) or "", headers, raw_head=raw)


def raw(port: int | None = None, **kw) -> RawConnection:
    return RawConnection(port, **kw)


def exchange(port: int, data: bytes, timeout: float = 5.0, method: str = "GET"):
    """Sends `data` on a new connection and reads one response: (response, connection)."""
    conn = RawConnection(port)
    conn.send(data)
    return conn.read_response(method, timeout), conn


def get_ok(port: int, path: str = "/", timeout: float = 5.0) -> Response:
    """A plain request on a fresh connection, for checking the server still serves."""
    with RawConnection(port) as conn:
        conn.request("GET", path, headers=[("Connection", "close")])
        return conn.read_response("GET", timeout)


def poll(predicate, timeout: float, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
