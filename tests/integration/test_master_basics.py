"""The pre-fork master: process titles and tree, worker count (--workers, WEB_CONCURRENCY,
TTIN/TTOU), --pid, listeners (--bind, --uds, --fd, systemd socket activation), exit codes,
boot failures, --preload, --user, --umask, --chdir."""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from master_support import (MASTER_APP, MASTER_TITLE_RE, alive, cmdline, comm, get_tcp, get_uds,
                            listening_socket, read_pid_file, run_to_exit, status_field,
                            wait_worker_count, workers)
from master_support import master  # noqa: F401 - the fixture
from support import APPS, free_port, poll, wait_for_file


@pytest.fixture
def sock_dir():
    """A short directory for Unix socket paths (sun_path holds 107 bytes)."""
    d = tempfile.mkdtemp(prefix="asgid-m-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_process_titles_and_tree(master):
    srv = master(MASTER_APP, "--workers", "2")
    assert MASTER_TITLE_RE.match(cmdline(srv.pid)), cmdline(srv.pid)
    assert comm(srv.pid) == "asgid: master"
    found = wait_worker_count(srv.pid, 2)
    assert sorted(found.values()) == [1, 2], found
    for pid, k in found.items():
        assert cmdline(pid).startswith(f"asgid: worker {k}"), cmdline(pid)
        assert comm(pid) == f"asgid: worker {k}"[:15]
    # The master never runs the app: requests are answered by the workers.
    served = {int(get_tcp(srv.port).body) for _ in range(20)}
    assert served <= set(found), f"answered by {served}, workers are {set(found)}"
    assert srv.pid not in served


def test_default_is_one_worker(master):
    srv = master(MASTER_APP, env={"WEB_CONCURRENCY": None})
    found = wait_worker_count(srv.pid, 1)
    assert list(found.values()) == [1]
    time.sleep(0.5)
    assert len(workers(srv.pid)) == 1


def test_web_concurrency_sets_the_worker_count(master):
    srv = master(MASTER_APP, env={"WEB_CONCURRENCY": "2"})
    assert sorted(wait_worker_count(srv.pid, 2).values()) == [1, 2]
    time.sleep(0.5)
    assert len(workers(srv.pid)) == 2


def test_listening_line_comes_after_every_worker_is_ready(master):
    srv = master(MASTER_APP, "--workers", "3")
    err = srv.stderr_text()
    listening = err.index("Listening on")
    ready = [m for m in re.finditer(r"Worker (\d+) \(pid (\d+)\) ready", err)]
    assert len(ready) == 3, err[-3000:]
    assert all(m.start() < listening for m in ready), err[-3000:]
    booting = re.findall(r"Booting worker (\d+) \(pid (\d+)\)", err)
    assert sorted(int(k) for k, _ in booting) == [1, 2, 3], err[-3000:]
    assert {int(p) for _, p in booting} == set(wait_worker_count(srv.pid, 3)), err[-3000:]


def test_ttin_adds_a_worker_and_ttou_removes_one_never_below_one(master):
    srv = master(MASTER_APP, "--workers", "3")
    first = wait_worker_count(srv.pid, 3)
    srv.signal(signal.SIGTTIN)
    four = wait_worker_count(srv.pid, 4)
    assert set(first) <= set(four), "TTIN replaced workers instead of adding one"
    assert get_tcp(srv.port).status == 200
    srv.signal(signal.SIGTTOU)
    three = wait_worker_count(srv.pid, 3)
    assert len(set(three) & set(four)) == 3
    for _ in range(2):
        srv.signal(signal.SIGTTOU)
        time.sleep(0.3)
    wait_worker_count(srv.pid, 1)
    srv.signal(signal.SIGTTOU)  # already at one: stays at one
    time.sleep(1.5)
    assert len(workers(srv.pid)) == 1, workers(srv.pid)
    assert get_tcp(srv.port).status == 200


def test_pid_file_written_then_removed_and_exit_code_zero(master, tmp_path):
    pid_file = tmp_path / "asgid.pid"
    srv = master(MASTER_APP, "--workers", "2", "--pid", pid_file)
    assert read_pid_file(pid_file) == srv.pid
    assert pid_file.read_text().strip() == str(srv.pid)
    # Written atomically: no temporary file left next to it.
    assert [p.name for p in tmp_path.iterdir()] == ["asgid.pid"]
    worker_pids = list(wait_worker_count(srv.pid, 2))
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(10) == 0
    assert not pid_file.exists()
    assert poll(lambda: not any(alive(p) for p in worker_pids), 2)


def test_sigint_stops_with_code_zero(master):
    srv = master(MASTER_APP, "--workers", "2")
    pids = list(wait_worker_count(srv.pid, 2))
    srv.signal(signal.SIGINT)
    assert srv.wait_exit(10) == 0
    assert poll(lambda: not any(alive(p) for p in pids), 2)


def test_sigquit_is_a_fast_stop(master):
    srv = master(MASTER_APP, "--workers", "2", "--timeout-graceful-shutdown", "30")
    pids = list(wait_worker_count(srv.pid, 2))
    t = threading.Thread(target=lambda: _swallow(lambda: get_tcp(srv.port, "/slow?s=20",
                                                                 timeout=25)), daemon=True)
    t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    srv.signal(signal.SIGQUIT)
    rc = srv.wait_exit(10)
    assert rc is not None and rc >= 0, rc
    assert time.monotonic() - t0 < 3, "QUIT waited for the request in flight"
    assert poll(lambda: not any(alive(p) for p in pids), 2)


def test_graceful_stop_finishes_in_flight_requests(master):
    srv = master(MASTER_APP, "--workers", "2", "--timeout-graceful-shutdown", "5")
    results = []

    def slow():
        try:
            results.append(get_tcp(srv.port, "/slow?s=1.5", timeout=10))
        except Exception as e:  # noqa: BLE001 - reported below
            results.append(e)

    threads = [threading.Thread(target=slow) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    srv.signal(signal.SIGTERM)
    for t in threads:
        t.join(10)
    assert len(results) == 3
    for r in results:
        assert not isinstance(r, Exception), r
        assert r.status == 200 and r.body.startswith(b"slow ")
    assert srv.wait_exit(10) == 0
    assert time.monotonic() - t0 < 6


def test_graceful_timeout_bounds_a_request_that_never_ends(master):
    srv = master(MASTER_APP, "--workers", "2", "--timeout-graceful-shutdown", "1")
    pids = list(wait_worker_count(srv.pid, 2))
    t = threading.Thread(target=lambda: _swallow(lambda: get_tcp(srv.port, "/slow?s=60",
                                                                 timeout=30)), daemon=True)
    t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    srv.signal(signal.SIGTERM)
    rc = srv.wait_exit(8)
    elapsed = time.monotonic() - t0
    assert rc is not None, "master still running 8 s after SIGTERM"
    assert rc >= 0
    assert elapsed < 3.5, f"exit took {elapsed:.1f} s with --timeout-graceful-shutdown 1"
    assert poll(lambda: not any(alive(p) for p in pids), 2), "workers outlived the master"


def test_second_sigint_exits_at_once(master):
    srv = master(MASTER_APP, "--workers", "2", "--timeout-graceful-shutdown", "30")
    t = threading.Thread(target=lambda: _swallow(lambda: get_tcp(srv.port, "/slow?s=20",
                                                                 timeout=25)), daemon=True)
    t.start()
    time.sleep(0.5)
    srv.signal(signal.SIGINT)
    time.sleep(0.5)
    assert srv.proc.poll() is None, "the first SIGINT should wait for the request in flight"
    t0 = time.monotonic()
    srv.signal(signal.SIGINT)
    assert srv.wait_exit(5) is not None, "still running 5 s after the second SIGINT"
    assert time.monotonic() - t0 < 3
    assert poll(lambda: not any(alive(p) for p in workers(srv.pid)), 3)


def _swallow(fn):
    try:
        fn()
    except Exception:  # noqa: BLE001 - the server goes away on purpose
        pass


def test_usr1_keeps_serving(master):
    srv = master(MASTER_APP, "--workers", "2")
    pids = wait_worker_count(srv.pid, 2)
    srv.signal(signal.SIGUSR1)
    time.sleep(0.5)
    assert srv.proc.poll() is None
    assert set(workers(srv.pid)) == set(pids), "USR1 must not restart workers"
    assert get_tcp(srv.port).status == 200


def test_bind_tcp_and_unix_both_serve(sock_dir, master):
    port = free_port()
    sock = os.path.join(sock_dir, "a.sock")
    srv = master(MASTER_APP, "--workers", "2", "--bind", f"127.0.0.1:{port}",
                 "--bind", f"unix:{sock}", port=None)
    srv.port = port
    assert srv.wait_stderr(r"Listening on \S*" + re.escape(sock), 3), srv.stderr_text()[-2000:]
    assert srv.wait_stderr(r"Listening on http://127\.0\.0\.1:%d\b" % port, 3)
    time.sleep(0.2)
    lines = [line for line in srv.stderr_text().splitlines() if "Listening on" in line]
    assert len(lines) == 2, lines
    pids = wait_worker_count(srv.pid, 2)
    r1 = get_tcp(port)
    r2 = get_uds(sock)
    assert r1.status == r2.status == 200
    assert int(r1.body) in pids and int(r2.body) in pids
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(10) == 0


def test_bind_ipv6_loopback(master):
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    port = free_port()
    srv = master(MASTER_APP, "--bind", f"[::1]:{port}", port=None)
    assert f"[::1]:{port}" in srv.stderr_text()
    assert get_tcp(port, host="::1").status == 200


def test_backlog_is_applied(master):
    srv = master(MASTER_APP, "--backlog", "77")
    out = subprocess.run(["ss", "-Hltn", f"sport = :{srv.port}"], capture_output=True,
                         text=True, timeout=5).stdout.split()
    # State Recv-Q Send-Q Local Peer: for a listener Send-Q is the backlog.
    assert out and out[2] == "77", out


def test_reuse_port_lets_two_servers_share_a_port(master):
    port = free_port()
    a = master(MASTER_APP, "--reuse-port", port=port)
    b = master(MASTER_APP, "--reuse-port", port=port)
    workers_a, workers_b = set(wait_worker_count(a.pid, 1)), set(wait_worker_count(b.pid, 1))
    served = set()
    for _ in range(60):
        served.add(int(get_tcp(port).body))
        if served & workers_a and served & workers_b:
            break
    assert served & workers_a and served & workers_b, (served, workers_a, workers_b)


def test_uds_with_perms(sock_dir, master):
    sock = os.path.join(sock_dir, "p.sock")
    srv = master(MASTER_APP, "--uds", sock, "--uds-perms", "660", port=None)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o660
    assert stat.S_ISSOCK(os.stat(sock).st_mode)
    assert get_uds(sock).status == 200
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(10) == 0


def test_umask_applies_to_the_unix_socket(sock_dir, master):
    sock = os.path.join(sock_dir, "u.sock")
    master(MASTER_APP, "--uds", sock, "--umask", "027", port=None)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o750
    assert get_uds(sock).status == 200


def test_chdir(master, tmp_path):
    srv = master(MASTER_APP, "--chdir", APPS, "--app-dir", APPS, cwd=tmp_path)
    assert get_tcp(srv.port, "/cwd").body.decode() == str(APPS)


def test_inherited_fd_serves(master):
    lsock = listening_socket()
    port = lsock.getsockname()[1]
    try:
        srv = master(MASTER_APP, "--workers", "2", "--fd", lsock.fileno(), port=None,
                     pass_fds=(lsock.fileno(),))
    finally:
        lsock.close()  # only asgid's copy is left: it alone can answer
    srv.port = port
    pids = wait_worker_count(srv.pid, 2)
    for _ in range(5):
        r = get_tcp(port)
        assert r.status == 200 and int(r.body) in pids
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(10) == 0


def test_systemd_socket_activation_serves(master):
    lsock = listening_socket()
    port = lsock.getsockname()[1]
    try:
        srv = master(MASTER_APP, "--workers", "2", port=None, systemd_fd=lsock.fileno())
    finally:
        lsock.close()
    srv.port = port
    assert f"127.0.0.1:{port}" in srv.stderr_text()
    pids = wait_worker_count(srv.pid, 2)
    for _ in range(5):
        r = get_tcp(port)
        assert r.status == 200 and int(r.body) in pids
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(10) == 0


def test_boot_failure_exits_nonzero_promptly_with_the_error(tmp_path):
    (tmp_path / "broken_app.py").write_text("def app(scope, receive, send)\n    pass\n")
    rc, err, took = run_to_exit(["--workers", "2", "--port", free_port(), "--app-dir", tmp_path,
                                 "broken_app:app"], timeout=10)
    assert rc != 0
    assert "SyntaxError" in err, err[-3000:]
    assert took < 10
    assert "Listening on" not in err


def test_missing_module_exits_nonzero_promptly(tmp_path):
    rc, err, took = run_to_exit(["--workers", "2", "--port", free_port(), "--app-dir", tmp_path,
                                 "no_such_module_here:app"], timeout=10)
    assert rc != 0
    assert "no_such_module_here" in err, err[-3000:]
    assert took < 10


@pytest.mark.parametrize("preload", [True, False], ids=["preload", "no-preload"])
def test_preload_imports_once_in_the_master(master, tmp_path, preload):
    log = tmp_path / "imports.txt"
    args = ["--workers", "3"] + (["--preload"] if preload else [])
    srv = master(MASTER_APP, *args, env={"MASTER_IMPORT_LOG": str(log)})
    pids = wait_worker_count(srv.pid, 3)
    assert get_tcp(srv.port).status == 200
    lines = wait_for_file(log, lambda t: len(t.splitlines()) >= (1 if preload else 3), 3)
    importers = [int(line.split()[1]) for line in lines.splitlines()]
    if preload:
        assert importers == [srv.pid], f"imports by {importers}; master {srv.pid}"
    else:
        assert sorted(importers) == sorted(pids), f"imports by {importers}; workers {pids}"
        assert srv.pid not in importers


def test_user_nobody_after_binding(master):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    nobody = pwd.getpwnam("nobody")
    # A port below ip_unprivileged_port_start can only be bound before dropping privileges.
    try:
        floor = int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except OSError:
        floor = 1024
    port = None
    for candidate in range(max(1, floor - 1), max(1, floor - 40), -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
                port = candidate
                break
            except OSError:
                continue
    if port is None:
        port = free_port()
    srv = master(MASTER_APP, "--workers", "2", "--user", "nobody", port=port)
    pids = wait_worker_count(srv.pid, 2)
    for pid in pids:
        uids = status_field(pid, "Uid")
        assert set(int(u) for u in uids) == {nobody.pw_uid}, (pid, uids)
        gids = status_field(pid, "Gid")
        assert set(int(g) for g in gids) == {nobody.pw_gid}, (pid, gids)
    r = get_tcp(port, "/uid")
    assert r.status == 200
    assert r.body.decode().split() == [str(nobody.pw_uid)] * 2
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(10) == 0


def test_group_only(master):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    nogroup = grp.getgrgid(pwd.getpwnam("nobody").pw_gid)
    srv = master(MASTER_APP, "--group", nogroup.gr_name)
    (pid,) = wait_worker_count(srv.pid, 1)
    assert set(int(g) for g in status_field(pid, "Gid")) == {nogroup.gr_gid}
    assert set(int(u) for u in status_field(pid, "Uid")) == {0}
    assert get_tcp(srv.port).status == 200
