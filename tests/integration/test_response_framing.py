"""Framing the app cannot break: an informational status is not a response, an app's own
Transfer-Encoding never reaches HTTP/1.0, and HEAD never gets a body from the server's own
error answers (RFC 9110 9.3.2, 15.2; RFC 9112 6.1)."""
import pytest

from support import RawConnection


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server("framing_app:app", allow_tracebacks=True)


def test_informational_status_is_a_500_naming_the_status(srv):
    offset = len(srv.stderr_text())
    with RawConnection(srv.port) as conn:
        conn.send(b"GET /status101 HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")
        first = conn.read_response(timeout=5)
        assert first.status == 500
        # The 500 ends the connection: the pipelined request is never answered as if it were
        # the first one's final response.
        rest, closed = conn.read_until_close(5)
        assert closed and rest == b"", rest
    assert srv.wait_stderr(r"invalid HTTP status 101", 5, offset)


def test_own_transfer_encoding_is_dropped_for_http10(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"GET /own_chunked HTTP/1.0\r\n\r\n")
        raw, closed = conn.read_until_close(5)
    assert closed
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert b"transfer-encoding" not in head.lower(), head
    assert body == b"abcdef"


def test_own_transfer_encoding_is_kept_once_for_http11(srv):
    with RawConnection(srv.port) as conn:
        conn.request("GET", "/own_chunked")
        resp = conn.read_response(timeout=5)
    assert resp.body == b"abcdef"
    names = [name for name, _ in resp.headers]
    assert names.count("transfer-encoding") == 1, resp.headers


def test_server_error_answer_to_head_has_no_body(srv):
    # A bad chunked body on a HEAD request whose app reads the body first (so that the
    # server's own 400 comes before any answer, also with eager tasks): it carries no body.
    with RawConnection(srv.port) as conn:
        conn.send(b"HEAD /read_body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                  b"\r\nzz\r\n")
        raw, closed = conn.read_until_close(5)
    assert closed
    assert raw.startswith(b"HTTP/1.1 400 "), raw
    assert raw.endswith(b"\r\n\r\n"), raw
