"""--limit-request-body: 413 for a declared length before the app runs, 413 (or a close) when a
chunked body passes the limit while the app reads it, and the app hears http.disconnect."""

import json
import time

import pytest

from support import RawConnection, wait_for_file

LIMIT = 1000


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server("body_app:app", "--limit-request-body", str(LIMIT))


def test_declared_length_over_the_limit_gets_413_without_reading(srv, tmp_path):
    marker = tmp_path / "marker"
    with RawConnection(srv.port) as conn:
        # Only the head: the answer must not wait for a body that never comes.
        conn.send(f"POST /wait_disconnect?marker={marker} HTTP/1.1\r\nHost: t\r\n"
                  f"Content-Length: {LIMIT + 1}\r\n\r\n".encode())
        started = time.monotonic()
        resp = conn.read_response(timeout=3)
        assert time.monotonic() - started < 2
        assert resp.status == 413
        assert "close" in resp.connection_tokens()
        assert conn.wait_closed(3)
    time.sleep(0.2)
    assert not marker.exists(), "the app was called"


def test_declared_length_with_expect_continue_gets_413_not_100(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                  b"Content-Length: 5000000\r\n\r\n")
        resp = conn.read_response(timeout=3)
        assert resp.status == 413
        assert resp.interim == []


def test_at_the_limit_is_served(srv):
    for framing in ("length", "chunked"):
        with RawConnection(srv.port) as conn:
            body = b"x" * LIMIT
            if framing == "length":
                conn.request("POST", "/echo", body=body)
            else:
                conn.request("POST", "/echo", headers=[("Transfer-Encoding", "chunked")],
                             body=b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (600, body[:600], 400,
                                                                         body[600:]))
            resp = conn.read_response()
            assert resp.status == 200, framing
            assert json.loads(resp.body)["len"] == LIMIT


def test_chunked_over_the_limit_gets_413_and_the_app_a_disconnect(srv, tmp_path):
    marker = tmp_path / "marker"
    with RawConnection(srv.port) as conn:
        conn.send(f"POST /wait_disconnect?marker={marker} HTTP/1.1\r\nHost: t\r\n"
                  f"Transfer-Encoding: chunked\r\n\r\n".encode())
        wait_for_file(marker, lambda t: "started" in t)
        conn.send(b"%x\r\n%s\r\n" % (LIMIT, b"a" * LIMIT))
        time.sleep(0.1)
        conn.send(b"1\r\nb\r\n")  # one byte past the limit
        resp = conn.read_response(timeout=3)
        assert resp.status == 413
        assert "close" in resp.connection_tokens()
        assert conn.wait_closed(3)
    text = wait_for_file(marker, lambda t: "send-" in t)
    assert text.split() == ["started", "http.disconnect", "send-oserror"], text


def test_chunked_body_over_the_limit_in_one_chunk(srv, tmp_path):
    # (Past the limit after the response started, the connection just closes: unit-tested in
    # tests/unit/http/http_connection_test.cc.)
    marker = tmp_path / "marker"
    with RawConnection(srv.port) as conn:
        conn.request("POST", f"/wait_disconnect?marker={marker}",
                     headers=[("Transfer-Encoding", "chunked")],
                     body=b"%x\r\n%s\r\n" % (LIMIT + 1, b"z" * (LIMIT + 1)))
        resp = conn.read_response(timeout=3)
        assert resp.status == 413
        assert conn.wait_closed(3)
    text = wait_for_file(marker, lambda t: "send-" in t)
    assert text.split() == ["started", "http.disconnect", "send-oserror"], text


def test_unlimited_by_default(server):
    srv = server("body_app:app")
    with RawConnection(srv.port) as conn:
        conn.request("POST", "/echo", body=b"y" * 3_000_000)
        resp = conn.read_response(timeout=10)
        assert resp.status == 200
        assert json.loads(resp.body)["len"] == 3_000_000


def test_limit_out_of_range_is_a_config_error():
    from support import run_cli
    code, _, err = run_cli(["--limit-request-body", "-1", "body_app:app"])
    assert code != 0 and "--limit-request-body" in err, err
