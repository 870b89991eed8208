"""Request-line and Host strictness (RFC 9112 section 3, RFC 9110 sections 7.2 and 9.1), seen
from a raw socket: each case sends its bytes and checks the status line; the accepted ones also
check what the app saw, since the point of the absolute-form rules is what reaches the app."""

import json

import pytest

from support import IncompleteResponse, RawConnection, get_ok

H = b"Host: t\r\n"
CLOSE = b"Connection: close\r\n"

REJECTED = {
    # RFC 9112 3.2: exactly one Host on HTTP/1.1, at most one on HTTP/1.0, and a valid value.
    "host-missing-1.1": (b"GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400),
    "host-twice-1.1": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
    "host-twice-1.0": (b"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400),
    "host-with-space": (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    "host-with-slash": (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    "host-with-userinfo": (b"GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", 400),
    "host-bad-port": (b"GET / HTTP/1.1\r\nHost: a:8o\r\n\r\n", 400),
    "host-unclosed-ipv6": (b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),
    "host-bad-pct": (b"GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400),
    # RFC 9110 4.2: only http and https name something this server serves; 4.2.1: no empty
    # host; 4.2.4: userinfo is an error.
    "absolute-ftp": (b"GET ftp://t/ HTTP/1.1\r\n" + H + b"\r\n", 400),
    "absolute-ws": (b"GET ws://t/ HTTP/1.1\r\n" + H + b"\r\n", 400),
    "absolute-userinfo": (b"GET http://user:pw@t/ HTTP/1.1\r\n" + H + b"\r\n", 400),
    "absolute-empty-host": (b"GET http:///p HTTP/1.1\r\n" + H + b"\r\n", 400),
    "absolute-without-host-1.1": (b"GET http://t/ HTTP/1.1\r\n\r\n", 400),
    # RFC 9112 3.2: a fragment is not part of a request-target.
    "fragment": (b"GET /a#frag HTTP/1.1\r\n" + H + b"\r\n", 400),
    "fragment-in-query": (b"GET /a?b=1#frag HTTP/1.1\r\n" + H + b"\r\n", 400),
    "fragment-absolute": (b"GET http://t/a#frag HTTP/1.1\r\n" + H + b"\r\n", 400),
    # RFC 9112 3.2.4: asterisk-form is for OPTIONS only.
    "asterisk-get": (b"GET * HTTP/1.1\r\n" + H + b"\r\n", 400),
    "asterisk-post": (b"POST * HTTP/1.1\r\n" + H + b"Content-Length: 0\r\n\r\n", 400),
    # RFC 9110 9.1 / 15.6.2: a method token the server does not implement is 501...
    "method-unknown": (b"FOO / HTTP/1.1\r\n" + H + b"\r\n", 501),
    "method-lowercase": (b"get / HTTP/1.1\r\n" + H + b"\r\n", 501),
    "method-known-prefix": (b"GETX / HTTP/1.1\r\n" + H + b"\r\n", 501),
    "method-rtsp": (b"DESCRIBE / HTTP/1.1\r\n" + H + b"\r\n", 501),
    "method-pri-1.1": (b"PRI / HTTP/1.1\r\n" + H + b"\r\n", 501),
    # ... while bytes that cannot be in a token, or a broken request line, stay 400.
    "method-at-sign": (b"G@T / HTTP/1.1\r\n" + H + b"\r\n", 400),
    "method-slash": (b"GET/ HTTP/1.1\r\n" + H + b"\r\n", 400),
    "method-tab": (b"FOO\t/ HTTP/1.1\r\n" + H + b"\r\n", 400),
    "method-non-ascii": (b"G\xc3\x89T / HTTP/1.1\r\n" + H + b"\r\n", 400),
    "method-token-no-version": (b"FOO /\r\n\r\n", 400),
    # The HTTP/2 preface is still an unsupported version, not an unknown method.
    "h2-preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
}


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server("scope_app:app")


def rejected(port, data: bytes, status: int, pieces: int = 1):
    """Sends `data` (in `pieces` writes) and returns the response, checking it closes."""
    with RawConnection(port) as conn:
        step = max(1, -(-len(data) // pieces))
        for i in range(0, len(data), step):
            conn.send(data[i:i + step])
        try:
            resp = conn.read_response(timeout=5)
        except IncompleteResponse as e:
            raise AssertionError(f"no {status} response: {e}") from None
        assert resp.status == status, f"got {resp.status} {resp.reason}, expected {status}"
        assert "close" in resp.connection_tokens(), resp.headers
        assert conn.wait_closed(5), "connection not closed after a rejected request"
        return resp


def scope_of(port, data: bytes) -> dict:
    with RawConnection(port) as conn:
        conn.send(data)
        resp = conn.read_response()
        assert resp.status == 200, resp
        return json.loads(resp.body)


def header_values(scope, name: str) -> list[str]:
    return [v for n, v in scope["headers"] if n == name]


@pytest.mark.parametrize("name", list(REJECTED))
def test_rejected_with_its_status(srv, name):
    data, status = REJECTED[name]
    rejected(srv.port, data, status)
    assert get_ok(srv.port).status == 200


def test_501_has_its_reason_phrase(srv):
    resp = rejected(srv.port, b"FOO / HTTP/1.1\r\n" + H + b"\r\n", 501)
    assert resp.reason == "Not Implemented"
    assert resp.raw_head.startswith(b"HTTP/1.1 501 Not Implemented\r\n"), resp.raw_head


def test_unknown_method_split_into_small_writes_is_still_501(srv):
    # llhttp fails at the first byte; the server must wait for the line to tell 501 from 400.
    rejected(srv.port, b"FOO /x HTTP/1.1\r\n" + H + b"\r\n", 501, pieces=6)
    rejected(srv.port, b"FO@ /x HTTP/1.1\r\n" + H + b"\r\n", 400, pieces=6)


def test_absolute_form_authority_replaces_host(srv):
    # RFC 9112 3.2.2: the app must not see Host: evil while the URL names another host.
    scope = scope_of(srv.port, b"GET HTTP://Example.test:8080/abs/p?x=1 HTTP/1.1\r\n"
                               b"X-Before: 1\r\nHost: evil\r\nX-After: 2\r\n" + CLOSE + b"\r\n")
    assert scope["path"] == "/abs/p"
    assert scope["raw_path"] == "/abs/p"
    assert scope["query_string"] == "x=1"
    assert header_values(scope, "host") == ["Example.test:8080"]
    names = [n for n, _ in scope["headers"]]
    assert names == ["x-before", "host", "x-after", "connection"]


def test_absolute_form_https_and_empty_path(srv):
    scope = scope_of(srv.port, b"GET https://t.example?q HTTP/1.1\r\n" + H + CLOSE + b"\r\n")
    assert scope["path"] == "/"
    assert scope["query_string"] == "q"
    assert header_values(scope, "host") == ["t.example"]


def test_absolute_form_http_1_0_without_host_gets_one(srv):
    scope = scope_of(srv.port, b"GET http://[::1]:9/v HTTP/1.0\r\n\r\n")
    assert scope["path"] == "/v"
    assert header_values(scope, "host") == ["[::1]:9"]


def test_valid_host_values_are_accepted(srv):
    for host in (b"example.test", b"example.test:8080", b"127.0.0.1:80", b"[::1]:8000",
                 b"xn--bcher-kva.example", b"a%41b"):
        scope = scope_of(srv.port, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n" + CLOSE
                         + b"\r\n")
        assert header_values(scope, "host") == [host.decode()]


def test_http_1_0_without_host_is_served(srv):
    scope = scope_of(srv.port, b"GET /v HTTP/1.0\r\n\r\n")
    assert header_values(scope, "host") == []


def test_options_asterisk_is_served(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"OPTIONS * HTTP/1.1\r\n" + H + CLOSE + b"\r\n")
        resp = conn.read_response()
    assert resp.status == 200
    assert json.loads(resp.body)["method"] == "OPTIONS"


def test_known_uncommon_methods_reach_the_app(srv):
    for method in (b"PROPFIND", b"M-SEARCH", b"PURGE"):
        scope = scope_of(srv.port, method + b" /m HTTP/1.1\r\n" + H + CLOSE + b"\r\n")
        assert scope["method"] == method.decode()


def test_absolute_form_does_not_leak_into_the_next_request(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"GET http://first.test/a HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /b HTTP/1.1\r\nHost: second.test\r\n" + CLOSE + b"\r\n")
        first = json.loads(conn.read_response().body)
        second = json.loads(conn.read_response().body)
    assert header_values(first, "host") == ["first.test"]
    assert second["path"] == "/b"
    assert header_values(second, "host") == ["second.test"]
