"""Malformed requests: each gets its status with `connection: close`, the connection is
closed, and the server keeps serving (RFC 9112 sections 2-7, RFC 9110 section 15)."""

import pytest

from support import IncompleteResponse, RawConnection, get_ok

H = b"Host: t\r\n"
BAD_REQUESTS = {
    # Request line (RFC 9112 section 3).
    "garbage-line": (b"GARBAGE\r\n\r\n", 400),
    # No version at all (an HTTP/0.9 simple request): refused either as malformed or as an
    # unsupported version.
    "no-version": (b"GET /\r\n\r\n", (400, 505)),
    "extra-token": (b"GET / HTTP/1.1 extra\r\n" + H + b"\r\n", 400),
    "bad-version-token": (b"GET / HTTX/1.1\r\n" + H + b"\r\n", 400),
    "control-char-in-target": (b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n", 400),
    "http-2.0": (b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505),
    "http-1.2": (b"GET / HTTP/1.2\r\n" + H + b"\r\n", 505),
    "http-3.0": (b"GET / HTTP/3.0\r\n" + H + b"\r\n", 505),
    # Target over --limit-request-line (8190 by default).
    "long-target": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
    # Header section (RFC 9112 section 5).
    "obs-fold": (b"GET / HTTP/1.1\r\n" + H + b"X-A: a\r\n  folded\r\n\r\n", 400),
    "space-before-colon": (b"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400),
    "no-colon": (b"GET / HTTP/1.1\r\n" + H + b"NoColonHere\r\n\r\n", 400),
    "nul-in-value": (b"GET / HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", 400),
    "missing-host-1.1": (b"GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400),
    "two-hosts": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    "too-many-headers": (b"GET / HTTP/1.1\r\n" + H
                         + b"".join(b"X-H%d: v\r\n" % i for i in range(150)) + b"\r\n", 431),
    "header-too-large": (b"GET / HTTP/1.1\r\n" + H + b"X-Big: " + b"b" * 9000 + b"\r\n\r\n",
                         431),
    "headers-too-large-total": (b"GET / HTTP/1.1\r\n" + H
                                + b"".join(b"X-H%d: " % i + b"c" * 8000 + b"\r\n"
                                           for i in range(10)) + b"\r\n", 431),
    # Message body framing (RFC 9112 section 6).
    "cl-and-te": (b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    "two-different-cl": (b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n"
                         b"Content-Length: 6\r\n\r\nhello!", 400),
    "cl-list": (b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5, 6\r\n\r\nhello!", 400),
    "negative-cl": (b"POST / HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n", 400),
    "non-numeric-cl": (b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5x\r\n\r\nhello", 400),
    # A request whose last transfer coding is not chunked has no knowable length: 400
    # (RFC 9112 section 6.3); 501 is allowed for a coding the server does not know (6.1).
    "te-not-chunked-final": (b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\n"
                             b"hello", (400, 501)),
    "te-chunked-then-gzip": (b"POST / HTTP/1.1\r\n" + H
                             + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
                             (400, 501)),
    "bad-chunk-size": (b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                       b"zz\r\nhello\r\n0\r\n\r\n", 400),
    "chunk-size-overflow": (b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                            b"fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400),
    "chunk-missing-crlf": (b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                           b"5\r\nhelloXX0\r\n\r\n", 400),
}


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server("hello_app:app")


def expect_rejected(port, data: bytes, status):
    allowed = status if isinstance(status, tuple) else (status,)
    with RawConnection(port) as conn:
        try:
            conn.send(data)
        except OSError:
            pass  # the server may close while a large request is still being written
        try:
            resp = conn.read_response(timeout=5)
        except IncompleteResponse as e:
            raise AssertionError(f"no {status} response: {e}") from None
        assert resp.status in allowed, f"got {resp.status}, expected {status}"
        assert "close" in resp.connection_tokens(), resp.headers
        assert conn.wait_closed(5), "connection not closed after a rejected request"


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_request_rejected(srv, name):
    data, status = BAD_REQUESTS[name]
    expect_rejected(srv.port, data, status)
    assert get_ok(srv.port).body == b"hello"


def test_good_requests_near_the_limits_pass(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"GET /" + b"a" * 8000 + b" HTTP/1.1\r\n" + H + b"\r\n")
        assert conn.read_response().status == 200
        conn.send(b"GET / HTTP/1.1\r\n" + H
                  + b"".join(b"X-H%d: v\r\n" % i for i in range(80)) + b"\r\n")
        assert conn.read_response().status == 200
        conn.send(b"GET / HTTP/1.1\r\n" + H + b"X-Big: " + b"b" * 8000 + b"\r\n\r\n")
        assert conn.read_response().status == 200


def test_identical_repeated_content_length(srv):
    # May be accepted as one value or rejected (RFC 9112 section 6.3); answered either way.
    with RawConnection(srv.port) as conn:
        conn.send(b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nContent-Length: 5\r\n"
                  b"\r\nhello")
        resp = conn.read_response()
        assert resp.status in (200, 400)
        if resp.status == 400:
            assert conn.wait_closed(5)


def test_rejection_after_a_good_request_on_the_same_connection(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
        assert conn.read_response().status == 200
        conn.send(b"BROKEN LINE\r\n\r\n")
        resp = conn.read_response()
        assert resp.status == 400
        assert conn.wait_closed(5)


def test_header_timeout_applies_to_later_requests_too(server):
    srv = server("hello_app:app", "--timeout-request-header", "1", "--timeout-keep-alive", "5")
    with RawConnection(srv.port) as conn:
        conn.send(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
        assert conn.read_response().status == 200
        conn.send(b"GET / HTTP/1.1\r\n" + H + b"X-Partial: ")
        data, closed = conn.read_until_close(4)
    assert closed, "a stalled second request head was not timed out"
    assert data == b"" or data.startswith(b"HTTP/1.1 408"), data[:200]


def test_invalid_utf8_in_path_is_answered(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"GET /%FF%FE/x HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n")
        resp = conn.read_response()
    assert resp.status in (200, 400)
    assert get_ok(srv.port).body == b"hello"


def test_configured_limits(server):
    srv = server("hello_app:app", "--limit-request-line", "100", "--limit-request-fields", "10",
                 "--limit-request-field-size", "200", "--limit-request-headers-size", "1000")
    expect_rejected(srv.port, b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n" + H + b"\r\n", 414)
    expect_rejected(srv.port, b"GET / HTTP/1.1\r\n" + H
                    + b"".join(b"X-H%d: v\r\n" % i for i in range(20)) + b"\r\n", 431)
    expect_rejected(srv.port, b"GET / HTTP/1.1\r\n" + H + b"X-Big: " + b"b" * 300 + b"\r\n\r\n",
                    431)
    expect_rejected(srv.port, b"GET / HTTP/1.1\r\n" + H
                    + b"".join(b"X-H%d: " % i + b"c" * 150 + b"\r\n" for i in range(8))
                    + b"\r\n", 431)
    with RawConnection(srv.port) as conn:
        conn.send(b"GET /" + b"a" * 50 + b" HTTP/1.1\r\n" + H + b"X-H: " + b"v" * 100
                  + b"\r\n\r\n")
        assert conn.read_response().status == 200


def test_many_bad_connections_do_not_hurt(srv):
    for i in range(40):
        data, status = list(BAD_REQUESTS.values())[i % len(BAD_REQUESTS)]
        with RawConnection(srv.port) as conn:
            try:
                conn.send(data)
            except OSError:
                pass
            # Half the clients vanish without reading the answer.
            if i % 2:
                conn.read_until_close(1)
    assert get_ok(srv.port).body == b"hello"
