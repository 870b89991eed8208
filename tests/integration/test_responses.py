"""Response framing and connection management (RFC 9112 sections 6, 7 and 9)."""

import email.utils
import re
import socket
import threading
import time

import httpx
import pytest

from support import IncompleteResponse, RawConnection, get_ok, tree_rss_kb

IMF_FIXDATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")


@pytest.fixture(scope="module")
def srv(module_server):
    # /inject makes send() raise in the app: an app error with its traceback.
    return module_server("response_app:app", allow_tracebacks=True)


def one(port, method, path, version="HTTP/1.1", headers=(("Connection", "close"),)):
    with RawConnection(port) as conn:
        conn.request(method, path, headers=list(headers), version=version)
        return conn.read_response(method)


def test_content_length_response(srv):
    resp = one(srv.port, "GET", "/cl")
    assert resp.status == 200
    assert resp.header("content-length") == "5"
    assert resp.header("transfer-encoding") is None
    assert resp.body == b"hello"


def test_chunked_when_no_content_length(srv):
    resp = one(srv.port, "GET", "/chunked")
    assert resp.header("transfer-encoding") == "chunked"
    assert resp.header("content-length") is None
    # An empty body message in the middle must not end the chunked body early.
    assert resp.body == b"abcdefghij"


def test_http10_gets_no_chunked_encoding(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"GET /chunked HTTP/1.0\r\n\r\n")
        resp = conn.read_response()
        assert resp.header("transfer-encoding") is None
        assert resp.body == b"abcdefghij"
        assert conn.wait_closed(3)


@pytest.mark.parametrize("path", ["/cl", "/chunked", "/big?n=100000"])
def test_head_has_no_body(srv, path):
    with RawConnection(srv.port) as conn:
        conn.send(f"HEAD {path} HTTP/1.1\r\nHost: t\r\n\r\n"
                  "GET /cl HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        head = conn.read_response("HEAD")
        follow = conn.read_response("GET")
    assert head.status == 200
    if path == "/cl":
        assert head.header("content-length") == "5"
    if path.startswith("/big"):
        assert head.header("content-length") == "100000"
    assert follow.status == 200 and follow.body == b"hello", "HEAD response carried a body"


@pytest.mark.parametrize("code,app_body", [(204, ""), (304, ""), (204, "oops"), (304, "oops")])
def test_no_body_statuses(srv, code, app_body):
    with RawConnection(srv.port) as conn:
        conn.send(f"GET /status?code={code}&body={app_body} HTTP/1.1\r\nHost: t\r\n\r\n"
                  "GET /cl HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        first = conn.read_response()
        rest, closed = conn.read_until_close(3)
    assert first.status == code
    assert first.header("transfer-encoding") is None
    if code == 204:
        assert first.header("content-length") is None  # RFC 9110 section 8.6
    assert b"oops" not in rest, f"a body followed a {code}: {rest[:200]!r}"
    if app_body and not rest:
        assert closed  # refusing the app's body by closing is fine
    else:
        assert rest.startswith(b"HTTP/1.1 200 ") and rest.endswith(b"\r\n\r\nhello"), rest


def test_date_and_server_headers(srv):
    resp = one(srv.port, "GET", "/cl")
    assert resp.header("server") == "asgid"
    date = resp.header("date")
    assert date is not None and IMF_FIXDATE.fullmatch(date), date
    when = email.utils.parsedate_to_datetime(date).timestamp()
    assert abs(when - time.time()) < 10


def test_app_server_and_date_headers_are_not_doubled(srv):
    resp = one(srv.port, "GET", "/own_headers")
    # header() fails if the name appears twice.
    assert resp.header("server") == "myapp/1.0"
    assert resp.header("date") == "Thu, 01 Jan 2015 00:00:00 GMT"


def test_no_server_no_date_switches(server):
    srv = server("response_app:app", "--no-server-header", "--no-date-header")
    resp = one(srv.port, "GET", "/cl")
    assert resp.status == 200
    assert resp.header("server") is None
    assert resp.header("date") is None


def test_extra_headers(server):
    srv = server("response_app:app", "--header", "X-Extra:one", "--header", "X-Two: two words")
    for path in ("/cl", "/chunked", "/status?code=204"):
        resp = one(srv.port, "GET", path)
        assert resp.header("x-extra") == "one", path
        assert resp.header("x-two") == "two words", path


def test_duplicate_response_headers_kept_in_order(srv):
    resp = one(srv.port, "GET", "/cookies")
    assert resp.header_all("set-cookie") == ["a=1", "b=2"]


def test_keep_alive_reuses_one_connection(srv):
    with RawConnection(srv.port) as conn:
        ports = set()
        for i in range(100):
            method = "POST" if i % 3 == 0 else "GET"
            conn.request(method, "/client", body=b"x" * i if method == "POST" else b"")
            resp = conn.read_response(method)
            assert resp.status == 200, i
            assert "close" not in resp.connection_tokens(), i
            ports.add(resp.body)
    assert len(ports) == 1


def test_httpx_client_keep_alive(srv):
    with httpx.Client(base_url=srv.url, timeout=5) as client:
        ports = {client.get("/client").json()["client_port"] for _ in range(20)}
    assert len(ports) == 1


def test_http10_closes_by_default(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"GET /cl HTTP/1.0\r\nHost: t\r\n\r\n")
        resp = conn.read_response()
        assert resp.status == 200 and resp.body == b"hello"
        assert "keep-alive" not in resp.connection_tokens()
        assert conn.wait_closed(3), "HTTP/1.0 connection left open"


def test_http10_keep_alive_when_asked(srv):
    with RawConnection(srv.port) as conn:
        for _ in range(3):
            conn.send(b"GET /cl HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n")
            resp = conn.read_response(timeout=3)
            assert resp.status == 200 and resp.body == b"hello"
            # An HTTP/1.0 client keeps the connection only if told so (RFC 9112 C.2.2).
            assert "keep-alive" in resp.connection_tokens()


def test_http11_connection_close(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"GET /cl HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        resp = conn.read_response()
        assert "close" in resp.connection_tokens()
        assert conn.wait_closed(3)


def test_pipelined_requests_answered_in_order(srv):
    requests = [
        ("GET", "/sleep?ms=300", b""),
        ("GET", "/echo_i?i=1", b""),
        ("POST", "/echo_i?i=2", b"some body"),
        ("GET", "/echo_i?i=3", b""),
        ("HEAD", "/cl", b""),
        ("GET", "/echo_i?i=4", b""),
    ]
    data = b""
    for method, path, body in requests:
        data += f"{method} {path} HTTP/1.1\r\nHost: t\r\n".encode()
        if body:
            data += b"Content-Length: %d\r\n" % len(body)
        data += b"\r\n" + body
    with RawConnection(srv.port) as conn:
        conn.send(data)
        got = [conn.read_response(method).body for method, _, _ in requests]
    assert got == [b"slept 300", b"i=1", b"i=2", b"i=3", b"", b"i=4"]


def test_body_never_sent_past_content_length(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"GET /overlong HTTP/1.1\r\nHost: t\r\n\r\n"
                  b"GET /cl HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        first = conn.read_response()
        rest, _ = conn.read_until_close(3)
    assert first.body == b"hello"
    assert b"world" not in rest
    assert rest == b"" or rest.startswith(b"HTTP/1.1 "), rest[:200]
    assert get_ok(srv.port, "/cl").status == 200


def test_short_body_closes_connection(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"GET /short HTTP/1.1\r\nHost: t\r\n\r\n")
        head = conn.read_head()
        assert head.header("content-length") == "10"
        rest, closed = conn.read_until_close(5)
    assert rest == b"12345"
    assert closed, "connection kept open after a body shorter than its content-length"


@pytest.mark.parametrize("where", ["value", "name", "lf", "cr"])
def test_header_injection_never_written(srv, where):
    with RawConnection(srv.port) as conn:
        conn.send(f"GET /inject?where={where} HTTP/1.1\r\nHost: t\r\n"
                  "Connection: close\r\n\r\n".encode())
        data, closed = conn.read_until_close(5)
    lines = re.split(rb"\r\n|\n|\r", data)
    assert not any(line.lower().startswith(b"x-injected") for line in lines), data[:400]
    if data:
        status = data.split(b"\r\n", 1)[0]
        assert status.startswith(b"HTTP/1.1 500"), \
            f"a response with a CR/LF header was not turned into a 500: {data[:300]!r}"
    else:
        assert closed
    assert get_ok(srv.port, "/cl").status == 200


def test_large_content_length_response(srv):
    n = 5_000_000
    r = httpx.get(srv.url + f"/big?n={n}", timeout=20)
    assert r.status_code == 200
    assert r.headers["content-length"] == str(n)
    assert len(r.content) == n
    block = bytes(range(256)) * 256
    assert r.content[:len(block)] == block and r.content[-10:] == (block * 100)[n - 10:n]


def test_large_chunked_response(srv):
    with RawConnection(srv.port) as conn:
        conn.request("GET", "/bigchunked?n=80", headers=[("Connection", "close")])
        resp = conn.read_response(timeout=10)
    assert resp.chunked
    assert len(resp.body) == 80 * 65536


def test_many_pipelined_requests(srv):
    n = 64
    data = b"".join(b"GET /echo_i?i=%d HTTP/1.1\r\nHost: t\r\n\r\n" % i for i in range(n))
    with RawConnection(srv.port) as conn:
        conn.send(data)
        got = [conn.read_response().body for _ in range(n)]
    assert got == [b"i=%d" % i for i in range(n)]


def test_download_backpressure_to_a_slow_reader(srv):
    """An app streaming 100 MiB to a client that reads nothing yet must be held back by
    send() (ASGI flow control), not buffered in the server."""
    mb = 100
    baseline = tree_rss_kb(srv.pid)
    with RawConnection(srv.port) as conn:
        conn.request("GET", f"/flood?mb={mb}", headers=[("Connection", "close")])
        peak = baseline
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            peak = max(peak, tree_rss_kb(srv.pid))
            time.sleep(0.05)
        resp = conn.read_response(timeout=15)
    grew_mb = (peak - baseline) / 1024
    assert grew_mb < 50, f"server RSS grew by {grew_mb:.0f} MB for a client reading nothing"
    assert len(resp.body) == mb << 20


def test_client_closing_mid_download_leaves_the_server_healthy(srv):
    for _ in range(5):
        conn = RawConnection(srv.port)
        conn.request("GET", "/flood?mb=100")
        conn.read_head()
        conn.read_exact(256 * 1024)
        conn.close()
    baseline = tree_rss_kb(srv.pid)
    time.sleep(0.5)
    # The apps' send() calls fail once the clients are gone; nothing keeps streaming.
    assert (tree_rss_kb(srv.pid) - baseline) / 1024 < 50
    assert get_ok(srv.port, "/cl").body == b"hello"


def test_incomplete_response_raises_in_reader():
    # Guard for the helper itself: a chunked body cut short is reported, not accepted.
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)

    def serve():
        c, _ = lsock.accept()
        c.recv(1000)
        c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    with RawConnection(lsock.getsockname()[1]) as conn:
        conn.request("GET", "/")
        with pytest.raises(IncompleteResponse):
            conn.read_response(timeout=3)
    t.join(3)
    lsock.close()
