"""SIGHUP to the master: re-read the configuration and roll the workers one at a time, each
replacement ready before an old worker drains, so clients see no failure; a generation that
cannot boot leaves the old workers serving."""

from __future__ import annotations

import re
import signal
import time

import httpx

from master_support import (MASTER_APP, Load, app_copy, atomic_write, get_tcp, wait_worker_count,
                            wait_workers, workers, write_app)
from master_support import master  # noqa: F401 - the fixture
from support import RawConnection, poll


def wait_new_generation(srv, old: set[int], n: int, timeout: float = 20.0) -> set[int]:
    """Waits for n workers, none of them in `old`, unchanged for a second."""
    deadline = time.monotonic() + timeout
    while True:
        w = set(wait_workers(srv.pid, lambda w: len(w) == n and not set(w) & old,
                             max(0.1, deadline - time.monotonic()),
                             f"{n} workers, all new (old: {sorted(old)})"))
        time.sleep(1.0)
        if set(workers(srv.pid)) == w:
            return w
        assert time.monotonic() < deadline, "workers kept changing"


def wait_stable(srv, expected: set[int], seconds: float, timeout: float) -> bool:
    """True once the worker set has equalled `expected` for `seconds` in a row."""
    deadline = time.monotonic() + timeout
    since = None
    while time.monotonic() < deadline:
        if set(workers(srv.pid)) == expected:
            since = since or time.monotonic()
            if time.monotonic() - since >= seconds:
                return True
        else:
            since = None
        time.sleep(0.05)
    return False


def test_rolling_restart_under_load_drops_nothing(master):
    srv = master(MASTER_APP, "--workers", "2", "--timeout-graceful-shutdown", "5")
    old = set(wait_worker_count(srv.pid, 2))
    load = Load(srv.port, fresh=2, keepalive=2).start()
    try:
        time.sleep(0.5)
        for _ in range(5):
            srv.signal(signal.SIGHUP)
            time.sleep(1.0)
        new = wait_new_generation(srv, old, 2)
        time.sleep(0.5)
    finally:
        load.stop()
    assert srv.proc.poll() is None, "the master exited"
    assert load.refused == 0, load.summary()
    assert not load.failures, load.summary()
    assert load.ok >= 200, load.summary()
    assert len(load.pids) > 2, f"new workers never served: {load.summary()}"
    served = {int(get_tcp(srv.port).body) for _ in range(10)}
    assert served <= new, f"served by {served}, workers now {new}"
    err = srv.stderr_text()
    assert len(re.findall(r"Booting worker \d+ \(pid \d+\)", err)) >= 4, err[-3000:]


def test_rolling_restart_is_one_at_a_time_and_each_replacement_is_ready_first(master):
    srv = master(MASTER_APP, "--workers", "3")
    old = set(wait_worker_count(srv.pid, 3))
    mark = len(srv.stderr_text())
    srv.signal(signal.SIGHUP)
    new = wait_new_generation(srv, old, 3)
    assert srv.wait_stderr(r"exited with code", 5, start=mark)
    time.sleep(0.3)
    events = []  # (kind, pid) in log order
    rx = re.compile(r"Booting worker \d+ \(pid (\d+)\)|Worker \d+ \(pid (\d+)\) "
                    r"(ready|exited with code -?\d+|killed by signal \w+)")
    for m in rx.finditer(srv.stderr_since(mark)):
        if m.group(1):
            events.append(("boot", int(m.group(1))))
        else:
            events.append(("ready" if m.group(3) == "ready" else "exit", int(m.group(2))))
    boots = [i for i, (k, p) in enumerate(events) if k == "boot"]
    ready_new = [i for i, (k, p) in enumerate(events) if k == "ready" and p in new]
    exits_old = [i for i, (k, p) in enumerate(events) if k == "exit" and p in old]
    assert [events[i][1] for i in boots] and len(boots) == 3, events
    assert len(ready_new) == 3 and len(exits_old) == 3, events
    # One at a time: the next replacement boots once the previous one is ready.
    for b, r in zip(boots[1:], ready_new):
        assert b > r, f"a replacement booted before the previous one was ready: {events}"
    # Overlap: the k-th old worker is gone only after k replacements are ready.
    for k, e in enumerate(exits_old, start=1):
        assert sum(1 for r in ready_new if r < e) >= k, f"capacity dipped: {events}"
    assert not any(k == "exit" and p in new for k, p in events), events


def test_draining_worker_finishes_in_flight_request_with_connection_close(master):
    srv = master(MASTER_APP, "--workers", "1", "--timeout-graceful-shutdown", "10")
    (old,) = wait_worker_count(srv.pid, 1)
    with RawConnection(srv.port) as conn:
        conn.request("GET", "/slow?s=2")  # keep-alive request, in flight during the HUP
        time.sleep(0.3)
        srv.signal(signal.SIGHUP)
        r = conn.read_response(timeout=10)
        assert r.status == 200 and r.body == f"slow {old}".encode()
        assert "close" in r.connection_tokens(), r.headers
        assert conn.wait_closed(5), "the draining worker kept the connection open"
    (new,) = wait_new_generation(srv, {old}, 1)
    assert int(get_tcp(srv.port).body) == new


def test_broken_app_on_hup_keeps_old_workers_then_fixed_app_reloads(master, tmp_path):
    app_dir = app_copy(tmp_path, "v1")
    srv = master(MASTER_APP, "--workers", "2", "--app-dir", app_dir, cwd=tmp_path,
                 env={"PYTHONDONTWRITEBYTECODE": "1"}, allow_tracebacks=True)
    old = set(wait_worker_count(srv.pid, 2))
    assert httpx.get(srv.url + "/version", timeout=5).text == "v1"

    mark = len(srv.stderr_text())
    atomic_write(app_dir / "master_app.py", "def app(scope, receive, send)\n    pass\n")
    load = Load(srv.port, fresh=1, keepalive=1).start()
    try:
        srv.signal(signal.SIGHUP)
        assert srv.wait_stderr("SyntaxError", 10, start=mark), srv.stderr_since(mark)[-3000:]
        assert wait_stable(srv, old, 1.5, 10), f"workers {workers(srv.pid)}, old {old}"
        time.sleep(0.5)
    finally:
        load.stop()
    assert srv.proc.poll() is None, "the master exited after a failed reload"
    assert load.refused == 0 and not load.failures, load.summary()
    assert load.ok > 0 and set(load.pids) <= old, load.summary()
    failure_logged = [line for line in srv.stderr_since(mark).splitlines()
                      if re.search(r"(?i)reload.*fail|fail.*reload", line)]
    assert failure_logged, "no log line says the reload failed:\n" + srv.stderr_since(mark)[-3000:]
    for _ in range(5):
        assert httpx.get(srv.url + "/version", timeout=5).text == "v1"

    write_app(app_dir, "v2-fixed")
    srv.signal(signal.SIGHUP)
    new = wait_new_generation(srv, old, 2)
    assert len(new) == 2
    assert poll(lambda: httpx.get(srv.url + "/version", timeout=5).text == "v2-fixed", 5)


def test_hup_picks_up_a_changed_config_file(master, tmp_path):
    config = tmp_path / "asgid.yaml"
    config.write_text('headers: ["x-gen: 1"]\n')
    srv = master(MASTER_APP, "--workers", "2", "--config", config)
    old = set(wait_worker_count(srv.pid, 2))
    assert httpx.get(srv.url + "/", timeout=5).headers.get("x-gen") == "1"
    atomic_write(config, 'headers: ["x-gen: 2"]\n')
    srv.signal(signal.SIGHUP)
    wait_new_generation(srv, old, 2)
    gens = {httpx.get(srv.url + "/", timeout=5).headers.get("x-gen") for _ in range(10)}
    assert gens == {"2"}, gens


def test_hup_with_invalid_config_keeps_serving(master, tmp_path):
    config = tmp_path / "asgid.yaml"
    config.write_text('headers: ["x-gen: 1"]\n')
    srv = master(MASTER_APP, "--workers", "2", "--config", config)
    old = set(wait_worker_count(srv.pid, 2))
    mark = len(srv.stderr_text())
    atomic_write(config, "headers: [unterminated\nworkers: -3\n")
    srv.signal(signal.SIGHUP)
    assert srv.wait_stderr(r"(?i)error|fail|invalid", 5, start=mark), srv.stderr_since(mark)
    assert wait_stable(srv, old, 1.5, 5), f"workers {workers(srv.pid)}, old {old}"
    assert srv.proc.poll() is None
    r = httpx.get(srv.url + "/", timeout=5)
    assert r.status_code == 200 and r.headers.get("x-gen") == "1"
    # Fixed: the next HUP reloads.
    atomic_write(config, 'headers: ["x-gen: 3"]\n')
    srv.signal(signal.SIGHUP)
    wait_new_generation(srv, old, 2)
    assert httpx.get(srv.url + "/", timeout=5).headers.get("x-gen") == "3"


def test_two_quick_hups_end_with_all_new_workers(master):
    srv = master(MASTER_APP, "--workers", "2")
    old = set(wait_worker_count(srv.pid, 2))
    srv.signal(signal.SIGHUP)
    time.sleep(0.05)
    srv.signal(signal.SIGHUP)
    new = wait_new_generation(srv, old, 2)
    assert len(new) == 2
    assert get_tcp(srv.port).status == 200

