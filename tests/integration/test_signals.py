"""SIGTERM/SIGINT: graceful shutdown, its timeout, and the second SIGINT."""

import os
import signal
import threading
import time

import httpx
import pytest

from support import RawConnection, poll, wait_for_file


def start_in_thread(url):
    result = {}

    def run():
        try:
            result["response"] = httpx.get(url, timeout=15)
        except Exception as e:  # noqa: BLE001 - reported by the test
            result["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_graceful_shutdown_finishes_in_flight_request(server, tmp_path, sig):
    marker = tmp_path / "events.txt"
    srv = server("slow_app:app", env={"TEST_MARKER_FILE": str(marker)})
    t, result = start_in_thread(f"{srv.url}/slow?s=1.5&marker={marker}")
    assert "started" in wait_for_file(marker, lambda x: "started" in x, 5)
    srv.signal(sig)
    time.sleep(0.3)

    # No longer accepting: a new request does not get served.
    try:
        late = httpx.get(srv.url + "/fast", timeout=3)
        late_status = late.status_code
    except httpx.HTTPError:
        late_status = None
    assert late_status != 200, "a new request was served after the shutdown signal"

    t.join(10)
    assert "error" not in result, result.get("error")
    r = result["response"]
    assert r.status_code == 200
    assert r.content == b"slow done " + b"x" * 100000
    assert srv.wait_exit(10) == 0
    # Lifespan shutdown ran, after the in-flight response.
    lines = wait_for_file(marker, lambda x: "shutdown" in x, 1).split()
    assert lines == ["started", "response-done", "shutdown"], lines


def test_idle_server_exits_promptly_on_sigterm(server):
    srv = server("slow_app:app")
    assert httpx.get(srv.url + "/fast", timeout=5).status_code == 200
    t0 = time.monotonic()
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(5) == 0
    assert time.monotonic() - t0 < 3


def test_idle_keep_alive_connection_does_not_delay_shutdown(server):
    srv = server("slow_app:app")
    with RawConnection(srv.port) as conn:
        conn.request("GET", "/fast")
        assert conn.read_response().status == 200
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        assert srv.wait_exit(5) == 0
        assert time.monotonic() - t0 < 3
        assert conn.wait_closed(2)


def test_graceful_timeout_bounds_a_request_that_never_ends(server, tmp_path):
    marker = tmp_path / "events.txt"
    srv = server("slow_app:app", "--timeout-graceful-shutdown", "1")
    conn = RawConnection(srv.port)
    conn.request("GET", f"/forever?marker={marker}")
    assert "started" in wait_for_file(marker, lambda x: "started" in x, 5)
    t0 = time.monotonic()
    srv.signal(signal.SIGTERM)
    rc = srv.wait_exit(6)
    elapsed = time.monotonic() - t0
    assert rc is not None, "server still running 6 s after SIGTERM"
    assert rc >= 0
    assert elapsed < 3.5, f"exit took {elapsed:.1f} s with --timeout-graceful-shutdown 1"
    assert conn.wait_closed(2)
    conn.close()


def test_second_sigint_exits_at_once(server, tmp_path):
    marker = tmp_path / "events.txt"
    srv = server("slow_app:app", "--timeout-graceful-shutdown", "30")
    conn = RawConnection(srv.port)
    conn.request("GET", f"/forever?marker={marker}")
    assert "started" in wait_for_file(marker, lambda x: "started" in x, 5)
    srv.signal(signal.SIGINT)
    # Still draining the request that never ends, and saying for how long at most.
    assert srv.wait_stderr(r"waiting up to 30s \(--timeout-graceful-shutdown\) for the "
                           r"requests in flight; press Ctrl\+C again to stop at once", 3), \
        srv.stderr_text()[-2000:]
    assert srv.wait_exit(0.7) is None, "exited on the first SIGINT despite a request in flight"
    t0 = time.monotonic()
    srv.signal(signal.SIGINT)
    rc = srv.wait_exit(3)
    assert rc is not None, "second SIGINT did not stop the server within 3 s"
    assert rc >= 0
    assert time.monotonic() - t0 < 1.5
    conn.close()


@pytest.mark.parametrize("workers", ["1", "3"])
def test_ctrl_c_twice_at_a_terminal_stops_at_once(server, tmp_path, workers):
    # A terminal's Ctrl+C signals the whole foreground process group: the master and every
    # worker get each SIGINT (the server runs in its own session, so its group is its pid).
    marker = tmp_path / "events.txt"
    srv = server("slow_app:app", "--workers", workers, "--timeout-graceful-shutdown", "30")
    conn = RawConnection(srv.port)
    conn.request("GET", f"/forever?marker={marker}")
    assert "started" in wait_for_file(marker, lambda x: "started" in x, 5)
    os.killpg(srv.pid, signal.SIGINT)
    assert srv.wait_stderr(r"press Ctrl\+C again to stop at once", 3), srv.stderr_text()[-2000:]
    assert srv.wait_exit(0.7) is None, "exited on the first Ctrl+C despite a request in flight"
    t0 = time.monotonic()
    os.killpg(srv.pid, signal.SIGINT)
    rc = srv.wait_exit(3)
    assert rc is not None, "the second Ctrl+C did not stop the server within 3 s"
    assert rc >= 0
    assert time.monotonic() - t0 < 1.5
    # Nothing of the group is left (the workers were killed or exited, not orphaned).
    assert poll(lambda: not group_alive(srv.pid), 3), "processes of the group outlived the master"
    conn.close()


def group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process is in group `pgid`, from /proc/PID/stat."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, pgrp.
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
