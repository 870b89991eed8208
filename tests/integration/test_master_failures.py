"""Unexpected worker deaths (SIGKILL, os.abort()), stuck workers (heartbeat), and workers that
keep dying at boot (backoff): each is logged, the worker replaced, the others keep serving."""

from __future__ import annotations

import os
import re
import signal
import threading
import time

import httpx

from master_support import (MASTER_APP, StderrTimeline, alive, cpu_seconds, get_tcp, wait_gone,
                            wait_worker_count, wait_workers)
from master_support import master  # noqa: F401 - the fixture
from support import poll, wait_for_file

# A worker killed by SIGABRT with faulthandler on prints "Fatal Python error: Aborted".
ABORT_MARKERS = ("Fatal Python error",)


def replaced(srv, dead: int, n: int, timeout: float = 10.0) -> dict[int, int]:
    return wait_workers(srv.pid, lambda w: len(w) == n and dead not in w, timeout,
                        f"{n} workers without {dead}")


def test_sigkilled_worker_is_logged_and_replaced_while_others_serve(master):
    srv = master(MASTER_APP, "--workers", "2")
    before = wait_worker_count(srv.pid, 2)
    victim, index = sorted(before.items())[0]
    survivor = next(p for p in before if p != victim)
    statuses = []
    stop = threading.Event()
    idle = threading.Lock()  # held while a request is in flight: the kill never cuts one

    def hammer():
        while not stop.is_set():
            with idle:
                try:
                    r = get_tcp(srv.port, "/pid", timeout=5)
                    statuses.append((r.status, int(r.body) if r.status == 200 else None))
                except (OSError, AssertionError) as e:
                    statuses.append((repr(e), None))
            time.sleep(0.01)

    t = threading.Thread(target=hammer, daemon=True)
    t.start()
    time.sleep(0.3)
    with idle:
        os.kill(victim, signal.SIGKILL)
        assert wait_gone(victim, 5)
    after = replaced(srv, victim, 2)
    time.sleep(0.3)
    stop.set()
    t.join(10)
    assert srv.wait_stderr(rf"Worker {index} \(pid {victim}\) killed by signal SIGKILL", 3), \
        srv.stderr_text()[-3000:]
    assert survivor in after, "the surviving worker was restarted too"
    new = set(after) - {survivor}
    assert len(new) == 1 and after[new.pop()] == index, after
    bad = [s for s in statuses if s[0] != 200]
    assert not bad, f"requests failed while a worker was replaced: {bad[:5]}"
    assert len(statuses) >= 10
    assert {p for _, p in statuses} & {survivor}, "the surviving worker never answered"
    assert srv.proc.poll() is None


def test_abort_in_app_is_logged_as_sigabrt_and_replaced(master):
    srv = master(MASTER_APP, "--workers", "2", allow_markers=ABORT_MARKERS,
                 allow_tracebacks=True)
    before = wait_worker_count(srv.pid, 2)
    try:
        httpx.get(srv.url + "/abort", timeout=5)
    except httpx.HTTPError:
        pass  # the worker died under the request: no response is expected
    m = srv.wait_stderr(r"Worker (\d+) \(pid (\d+)\) killed by signal SIGABRT", 5)
    assert m, srv.stderr_text()[-3000:]
    dead = int(m.group(2))
    assert dead in before and before[dead] == int(m.group(1))
    after = replaced(srv, dead, 2)
    assert len(set(after) - set(before)) == 1
    for _ in range(10):
        assert get_tcp(srv.port).status == 200
    assert srv.proc.poll() is None


def test_stuck_worker_dumps_python_stack_and_is_replaced(master, tmp_path):
    marker = tmp_path / "spinning.pid"
    srv = master(MASTER_APP, "--workers", "2", "--timeout-worker-healthcheck", "2",
                 allow_markers=ABORT_MARKERS, allow_tracebacks=True)
    before = wait_worker_count(srv.pid, 2)
    mark = len(srv.stderr_text())

    def spin():
        try:
            httpx.get(f"{srv.url}/spin?marker={marker}", timeout=15)
        except httpx.HTTPError:
            pass

    threading.Thread(target=spin, daemon=True).start()
    text = wait_for_file(marker, lambda t: t.strip().isdigit(), 5)
    assert text.strip().isdigit(), "the /spin request never started"
    t0 = time.monotonic()
    spinner = int(text)
    assert spinner in before
    # The other worker keeps serving while one is stuck.
    r = get_tcp(srv.port, "/pid", timeout=5)
    assert r.status == 200 and int(r.body) != spinner

    # Detected within ~ healthcheck + 3 s, with the app's Python stack in the log.
    assert srv.wait_stderr("spin_forever_in_python", 2 + 3 + 1, start=mark), \
        srv.stderr_since(mark)[-3000:]
    detected = time.monotonic() - t0
    assert detected < 2 + 3 + 1, detected
    dump = srv.stderr_since(mark)
    assert "most recent call first" in dump, dump[-3000:]
    assert "master_app.py" in dump, dump[-3000:]
    assert re.search(r"(?i)unresponsive|not responding|heartbeat|timed? ?out", dump), dump[-3000:]
    assert wait_gone(spinner, 5), "the stuck worker was not killed"
    after = replaced(srv, spinner, 2)
    assert len(set(after) - set(before)) == 1
    for _ in range(5):
        assert get_tcp(srv.port).status == 200


def test_worker_dying_at_boot_is_respawned_with_backoff(master, tmp_path):
    flag = tmp_path / "crash-on-import"
    srv = master(MASTER_APP, "--workers", "1", env={"MASTER_CRASH_FLAG": str(flag)},
                 allow_tracebacks=True)
    (first,) = wait_worker_count(srv.pid, 1)
    assert get_tcp(srv.port).status == 200
    flag.write_text("1")
    timeline = StderrTimeline(srv)
    cpu0 = cpu_seconds(srv.pid)
    t0 = time.monotonic()
    os.kill(first, signal.SIGKILL)
    time.sleep(11)
    timeline.stop()
    cpu = cpu_seconds(srv.pid) - cpu0
    boots = timeline.times(r"Booting worker 1 \(pid \d+\)")
    assert srv.proc.poll() is None, "the master gave up on a worker that had booted before"
    assert 3 <= len(boots) <= 12, f"{len(boots)} boots in 11 s: {[b - t0 for b in boots]}"
    gaps = [b - a for a, b in zip(boots, boots[1:])]
    assert gaps[-1] > 2 * gaps[0], f"no backoff: gaps {gaps}"
    assert all(b >= a * 0.8 for a, b in zip(gaps, gaps[1:])), f"gaps shrink: {gaps}"
    assert cpu < 2.0, f"the master used {cpu:.2f} s of CPU in 11 s (busy loop?)"
    err = srv.stderr_text()
    assert "crash flag present" in err
    assert re.search(r"Worker 1 \(pid \d+\) exited with code [1-9]", err), err[-3000:]

    # Once the cause is gone, the next attempt brings the worker back.
    flag.unlink()
    back = wait_workers(srv.pid, lambda w: len(w) == 1 and first not in w, 35, "a worker back")
    assert poll(lambda: _ok(srv), 35), "no worker serves after the cause was removed"
    assert back


def _ok(srv) -> bool:
    try:
        return get_tcp(srv.port, timeout=2).status == 200
    except (OSError, AssertionError):
        return False


def test_two_killed_workers_are_replaced_while_the_third_serves(master):
    """No request fails right after the kills: the survivor takes them all."""
    srv = master(MASTER_APP, "--workers", "3")
    before = wait_worker_count(srv.pid, 3)
    for victim in list(before)[:2]:
        os.kill(victim, signal.SIGKILL)
    for victim in list(before)[:2]:
        assert wait_gone(victim, 5)
    for _ in range(20):
        assert get_tcp(srv.port).status == 200
    wait_workers(srv.pid, lambda w: len(w) == 3 and len(set(w) & set(before)) == 1, 10,
                 "two replacements")
    assert alive(srv.pid)
