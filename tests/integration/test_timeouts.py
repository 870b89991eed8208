"""Connection timeouts: keep-alive idle, request header (incl. slowloris). The limits here
are generous upper bounds on "closed", not timing goals."""

import json
import time

import pytest

from support import RawConnection, get_ok


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server("body_app:app", "--timeout-keep-alive", "1",
                         "--timeout-request-header", "1")


def assert_closed_or_408(conn: RawConnection, within: float):
    t0 = time.monotonic()
    data, closed = conn.read_until_close(within)
    elapsed = time.monotonic() - t0
    assert closed, f"connection still open after {within} s"
    if data:
        assert data.startswith(b"HTTP/1.1 408"), data[:200]
    return elapsed


def test_idle_keep_alive_connection_closed(srv):
    with RawConnection(srv.port) as conn:
        conn.request("GET", "/echo")
        assert conn.read_response().status == 200
        t0 = time.monotonic()
        assert conn.wait_closed(4), "idle keep-alive connection not closed within 4 s"
        elapsed = time.monotonic() - t0
        assert conn.buf == b"", bytes(conn.buf[:200])
    assert elapsed > 0.5, f"keep-alive connection closed after only {elapsed:.2f} s"
    assert get_ok(srv.port, "/echo").status == 200


def test_keep_alive_timer_restarts_per_request(srv):
    with RawConnection(srv.port) as conn:
        for _ in range(4):  # 4 x 0.5 s idle: longer than the 1 s timeout in total
            conn.request("GET", "/echo")
            assert conn.read_response().status == 200
            time.sleep(0.5)
        conn.request("GET", "/echo")
        assert conn.read_response().status == 200


def test_connection_that_sends_nothing_is_closed(srv):
    with RawConnection(srv.port) as conn:
        assert_closed_or_408(conn, 4)


def test_half_request_head_then_stall(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"GET /echo HTTP/1.1\r\nHost: t\r\nX-Partial: ")
        assert_closed_or_408(conn, 4)
    assert get_ok(srv.port, "/echo").status == 200


def test_slowloris_closed_despite_activity(srv):
    """One header byte every 0.3 s keeps the connection busy but never completes the head;
    the request-header timeout counts from the first byte, not from the last."""
    with RawConnection(srv.port) as conn:
        conn.send(b"GET /echo HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 6 and not closed:
            try:
                conn.send(b"a")
            except OSError:
                closed = True
                break
            closed = conn.wait_closed(0.3)
        elapsed = time.monotonic() - t0
    assert closed, "slowloris connection still open after 6 s"
    assert elapsed < 4, f"slowloris connection closed only after {elapsed:.1f} s"
    data = bytes(conn.buf)
    assert data == b"" or data.startswith(b"HTTP/1.1 408"), data[:200]


def test_slow_app_not_cut_by_connection_timeouts(srv):
    with RawConnection(srv.port) as conn:
        conn.request("GET", "/ignore?sleep=2")
        resp = conn.read_response(timeout=6)
    assert resp.status == 200 and resp.body == b"ignored"


def test_slow_body_not_cut_by_header_timeout(srv):
    body = b"0123456789"
    with RawConnection(srv.port) as conn:
        conn.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n")
        for i in range(5):  # 2 s for the body, well past the 1 s header timeout
            time.sleep(0.4)
            conn.send(body[2 * i:2 * i + 2])
        resp = conn.read_response(timeout=5)
    assert resp.status == 200
    assert json.loads(resp.body)["len"] == 10
