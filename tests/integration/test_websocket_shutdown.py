"""Open WebSockets when the server stops or replaces a worker (RFC 6455 section 7.4.1): SIGTERM
lets the apps go on for --timeout-graceful-shutdown, then closes what is still open with 1001
(going away); a reload (SIGHUP: the master rolls its workers) closes the old worker's
WebSockets with 1012 (service restart) once it has drained, while new ones reach the new
worker. uvicorn closes every WebSocket at once with 1012 on any shutdown, so these tests are
asgid's."""

from __future__ import annotations

import signal
import time

import pytest
from websockets.exceptions import ConnectionClosed

from ws_support import asgid_only, connect, marker_query, wait_line, ws_server  # noqa: F401

APP = "ws_app:app"

pytestmark = asgid_only("uvicorn closes open WebSockets at once with 1012 on SIGTERM and has "
                        "no master to reload or recycle workers")


def close_code_within(ws, timeout: float) -> int | None:
    """Receives until the server closes; the close code it sent (None: still open)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ws.recv(timeout=max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            return None
        except ConnectionClosed:
            rcvd = ws.protocol.close_rcvd
            return rcvd.code if rcvd is not None else 1006
    return None


def test_sigterm_closes_with_1001_after_the_graceful_timeout(ws_server, tmp_path):
    srv = ws_server(APP, "--timeout-graceful-shutdown", "2")
    marker = tmp_path / "events"
    with connect(srv, f"/echo?{marker_query(marker)}") as ws:
        ws.send("before")
        assert ws.recv(timeout=5) == "before"
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        # The graceful period: the app still serves this connection.
        time.sleep(0.3)
        ws.send("during")
        assert ws.recv(timeout=5) == "during"
        code = close_code_within(ws, 15)
        elapsed = time.monotonic() - t0
    assert code == 1001, f"closed with {code}"
    assert elapsed >= 1.0, f"closed {elapsed:.1f} s after SIGTERM, before the graceful timeout"
    assert wait_line(marker, "disconnect 1001"), open(marker).read()
    assert srv.wait_exit(10) == 0


def test_app_that_finishes_during_the_graceful_period_keeps_its_code(ws_server, tmp_path):
    srv = ws_server(APP, "--timeout-graceful-shutdown", "10")
    marker = tmp_path / "events"
    with connect(srv, f"/echo?{marker_query(marker)}") as ws:
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        time.sleep(0.3)
        ws.send("close-please")
        code = close_code_within(ws, 5)
    assert code == 4002, f"closed with {code}"
    # Nothing left open: the server need not wait out the graceful timeout.
    assert srv.wait_exit(8) == 0
    assert time.monotonic() - t0 < 8


def test_idle_websocket_does_not_outlive_the_graceful_timeout(ws_server):
    srv = ws_server(APP, "--timeout-graceful-shutdown", "1")
    with connect(srv, "/echo") as ws:
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        assert close_code_within(ws, 10) == 1001
    assert srv.wait_exit(10) == 0
    assert time.monotonic() - t0 < 10


def test_sighup_closes_the_old_workers_websockets_with_1012(ws_server, tmp_path):
    srv = ws_server(APP, "--workers", "1", "--timeout-graceful-shutdown", "1")
    marker = tmp_path / "events"
    with connect(srv, f"/echo?{marker_query(marker)}") as old:
        old.send("x")
        assert old.recv(timeout=5) == "x"
        srv.signal(signal.SIGHUP)
        code = close_code_within(old, 20)
    assert code == 1012, f"closed with {code}"
    assert wait_line(marker, "disconnect 1012"), open(marker).read()
    assert srv.proc.poll() is None, "the server exited on SIGHUP"
    with connect(srv, "/echo") as new:  # served by the new worker
        new.send("y")
        assert new.recv(timeout=5) == "y"


@pytest.mark.parametrize("option", [["--max-worker-lifetime", "2"]], ids=["lifetime"])
def test_worker_recycling_closes_with_1012(ws_server, option):
    srv = ws_server(APP, "--workers", "1", "--timeout-graceful-shutdown", "1", *option)
    with connect(srv, "/echo") as ws:
        assert close_code_within(ws, 20) == 1012
    assert srv.proc.poll() is None
