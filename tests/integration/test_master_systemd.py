"""sd_notify: the master tells systemd (NOTIFY_SOCKET, a Unix datagram socket the test binds)
READY=1 once every worker is ready, RELOADING=1 then READY=1 around a HUP, STOPPING=1 on
shutdown, MAINPID= on a binary upgrade, WATCHDOG=1 every WATCHDOG_USEC/2."""

from __future__ import annotations

import os
import signal
import socket
import struct
import tempfile
import threading
import time

import pytest

from master_support import (MASTER_APP, get_tcp, read_pid_file, reap, set_child_subreaper,
                            wait_gone, wait_worker_count, workers)
from master_support import master  # noqa: F401 - the fixture
from support import poll


class NotifySocket:
    """Receives sd_notify datagrams with the sender's pid (SO_PASSCRED) and arrival time."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="asgid-n-", dir="/tmp")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, int | None, dict[str, str], str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        creds_size = struct.calcsize("3i")
        while not self._stop.is_set():
            try:
                data, anc, _flags, _addr = self.sock.recvmsg(65536,
                                                             socket.CMSG_SPACE(creds_size))
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", payload[:creds_size])[0]
            text = data.decode("utf-8", "replace")
            fields = dict(line.split("=", 1) for line in text.split("\n") if "=" in line)
            with self._lock:
                self.messages.append((time.monotonic(), pid, fields, text))

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
        try:
            os.unlink(self.path)
            os.rmdir(self.dir)
        except OSError:
            pass

    def snapshot(self):
        with self._lock:
            return list(self.messages)

    def wait(self, key: str, value: str | None = None, after: int = 0,
             timeout: float = 10.0):
        """Index of the first message from index `after` on carrying key (=value)."""
        def find():
            for i, (_t, _pid, fields, _text) in enumerate(self.snapshot()):
                if i >= after and key in fields and (value is None or fields[key] == value):
                    return i + 1  # 0 would read as "not found"
            return None
        found = poll(find, timeout, 0.02)
        return None if found is None else found - 1

    def texts(self) -> list[str]:
        return [m[3] for m in self.snapshot()]


@pytest.fixture
def notify():
    n = NotifySocket()
    yield n
    n.close()


def test_ready_after_workers_then_stopping(master, notify):
    srv = master(MASTER_APP, "--workers", "2", env={"NOTIFY_SOCKET": notify.path})
    i = notify.wait("READY", "1", timeout=5)
    assert i is not None, f"no READY=1: {notify.texts()}"
    _t, sender, fields, _text = notify.snapshot()[i]
    if "MAINPID" in fields:
        assert int(fields["MAINPID"]) == srv.pid, fields
    # READY=1 is sent once every worker is ready: both are serving by then.
    assert len(wait_worker_count(srv.pid, 2, timeout=1)) == 2
    time.sleep(0.3)
    readies = [m for m in notify.snapshot() if m[2].get("READY") == "1"]
    assert len(readies) == 1, f"READY=1 sent {len(readies)} times at start: {notify.texts()}"
    assert not any("STOPPING" in m[2] for m in notify.snapshot())

    srv.signal(signal.SIGTERM)
    j = notify.wait("STOPPING", "1", after=i + 1, timeout=5)
    assert j is not None, f"no STOPPING=1: {notify.texts()}"
    assert srv.wait_exit(10) == 0


def test_only_the_master_notifies(master, notify):
    """systemd's default NotifyAccess=main drops datagrams from any other pid."""
    srv = master(MASTER_APP, "--workers", "2", env={"NOTIFY_SOCKET": notify.path})
    assert notify.wait("READY", "1", timeout=5) is not None
    srv.signal(signal.SIGHUP)
    assert notify.wait("RELOADING", "1", timeout=5) is not None
    time.sleep(1.5)
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(10) == 0
    time.sleep(0.2)
    senders = {m[1] for m in notify.snapshot()}
    assert senders == {srv.pid}, f"senders {senders}, master {srv.pid}: {notify.texts()}"


def test_reloading_then_ready_around_hup(master, notify):
    srv = master(MASTER_APP, "--workers", "2", env={"NOTIFY_SOCKET": notify.path})
    first_ready = notify.wait("READY", "1", timeout=5)
    assert first_ready is not None, notify.texts()
    old = set(wait_worker_count(srv.pid, 2))
    srv.signal(signal.SIGHUP)
    r = notify.wait("RELOADING", "1", after=first_ready + 1, timeout=5)
    assert r is not None, f"no RELOADING=1 after HUP: {notify.texts()}"
    ready = notify.wait("READY", "1", after=r, timeout=15)
    assert ready is not None, f"no READY=1 after RELOADING=1: {notify.texts()}"
    msg = notify.snapshot()[ready]
    if ready == r:  # one datagram "RELOADING=1\nREADY=1" would be wrong: reload not done yet
        pytest.fail(f"READY=1 in the same datagram as RELOADING=1: {msg[3]!r}")
    # When READY=1 comes, the whole new generation is up (old ones may still be draining).
    now = set(workers(srv.pid))
    assert len(now - old) >= 2, f"READY=1 before the new workers: old {old}, now {now}"
    assert get_tcp(srv.port).status == 200


def test_watchdog_pings(master, notify):
    master(MASTER_APP, "--workers", "1",
           env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"})
    start = notify.wait("READY", "1", timeout=5)
    assert start is not None
    t0 = time.monotonic()
    assert notify.wait("WATCHDOG", "1", timeout=2.0) is not None, \
        f"no WATCHDOG=1 within 2 s: {notify.texts()}"
    time.sleep(max(0.0, 3.0 - (time.monotonic() - t0)))
    pings = [m for m in notify.snapshot() if m[2].get("WATCHDOG") == "1"]
    assert len(pings) >= 3, f"{len(pings)} WATCHDOG=1 in ~3 s with WATCHDOG_USEC=1000000"


def test_no_watchdog_without_watchdog_usec(master, notify):
    master(MASTER_APP, env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": None})
    assert notify.wait("READY", "1", timeout=5) is not None
    time.sleep(1.5)
    assert not any("WATCHDOG" in m[2] for m in notify.snapshot()), notify.texts()


def test_unreachable_notify_socket_breaks_nothing(master, tmp_path):
    srv = master(MASTER_APP, "--workers", "2",
                 env={"NOTIFY_SOCKET": str(tmp_path / "nobody-listens-here")})
    assert get_tcp(srv.port).status == 200
    srv.signal(signal.SIGHUP)
    time.sleep(1.0)
    assert get_tcp(srv.port).status == 200
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(10) == 0


def test_usr2_upgrade_announces_the_new_main_pid(master, notify, tmp_path):
    pid_file = tmp_path / "asgid.pid"
    set_child_subreaper(True)
    try:
        srv = master(MASTER_APP, "--workers", "1", "--pid", pid_file,
                     env={"NOTIFY_SOCKET": notify.path})
        srv.adopted = True
        first = notify.wait("READY", "1", timeout=5)
        assert first is not None
        srv.signal(signal.SIGUSR2)
        new_master = poll(lambda: (lambda p: p if p and p != srv.pid else None)(
            read_pid_file(pid_file)), 20)
        if new_master:
            srv.other_masters.append(new_master)
        assert new_master, srv.stderr_text()[-3000:]
        i = notify.wait("MAINPID", str(new_master), after=first + 1, timeout=10)
        assert i is not None, f"no MAINPID={new_master}: {notify.texts()}"
        assert srv.wait_exit(20) == 0
        os.kill(new_master, signal.SIGTERM)
        code = reap(new_master, 15)
        assert code == 0 or (code is None and wait_gone(new_master, 15)), code
        srv.other_masters.clear()
    finally:
        set_child_subreaper(False)
