"""The HTTP connection scope (ASGI HTTP spec 2.4, "Connection Scope")."""

import json
import socket
import time

import httpx
import pytest

from support import RawConnection


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server("scope_app:app")


def scope_via_raw(port, head: bytes, body: bytes = b""):
    with RawConnection(port) as conn:
        conn.send(head + body)
        resp = conn.read_response()
        assert resp.status == 200, resp
        return json.loads(resp.body), conn.local_port


def test_basic_fields(srv):
    head = (b"GET /some/path?a=1&b=%20 HTTP/1.1\r\nHost: example.test\r\n"
            b"Connection: close\r\n\r\n")
    scope, client_port = scope_via_raw(srv.port, head)
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/some/path"
    assert scope["raw_path"] == "/some/path"
    assert scope["query_string"] == "a=1&b=%20"
    assert scope["root_path"] == ""
    assert scope["client"] == ["127.0.0.1", client_port]
    assert scope["server"] == ["127.0.0.1", srv.port]
    assert all(scope["types_ok"].values()), scope["types_ok"]


def test_absolute_form_target(srv):
    # RFC 9112 section 3.2.2: a server MUST accept the absolute-form.
    head = (b"GET http://example.test/abs/p%20q?x=1 HTTP/1.1\r\nHost: example.test\r\n"
            b"Connection: close\r\n\r\n")
    scope, _ = scope_via_raw(srv.port, head)
    assert scope["path"] == "/abs/p q"
    assert scope["query_string"] == "x=1"


def test_empty_query_string(srv):
    scope, _ = scope_via_raw(srv.port, b"GET /q? HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert scope["path"] == "/q"
    assert scope["query_string"] == ""


def test_http_1_0_version(srv):
    scope, _ = scope_via_raw(srv.port, b"GET /v HTTP/1.0\r\n\r\n")
    assert scope["http_version"] == "1.0"


def test_path_is_percent_decoded_utf8_and_raw_path_is_not(srv):
    head = (b"GET /caf%C3%A9/a%20b/%2F?x=%C3%A9&y=+ HTTP/1.1\r\nHost: t\r\n"
            b"Connection: close\r\n\r\n")
    scope, _ = scope_via_raw(srv.port, head)
    assert scope["path"] == "/café/a b//"
    assert scope["raw_path"] == "/caf%C3%A9/a%20b/%2F"
    assert scope["query_string"] == "x=%C3%A9&y=+"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_methods(srv, method):
    r = httpx.request(method, srv.url + "/m", content=b"abc", timeout=5)
    assert r.status_code == 200
    assert r.json()["method"] == method
    assert r.json()["body_len"] == 3


def test_headers_lowercased_ordered_duplicates_kept(srv):
    head = (b"GET / HTTP/1.1\r\nX-One: 1\r\nX-Dup: a\r\nHost: h\r\nX-Dup: b\r\n"
            b"X-Pad:   padded value \t\r\nCookie: c=1\r\nCookie: d=2\r\n"
            b"Connection: close\r\n\r\n")
    scope, _ = scope_via_raw(srv.port, head)
    assert scope["headers"] == [
        ["x-one", "1"], ["x-dup", "a"], ["host", "h"], ["x-dup", "b"],
        ["x-pad", "padded value"], ["cookie", "c=1"], ["cookie", "d=2"],
        ["connection", "close"],
    ]


def test_header_value_bytes_kept(srv):
    # obs-text (0x80-0xFF) is allowed in field values (RFC 9110 section 5.5); the scope
    # carries the bytes unchanged.
    head = b"GET / HTTP/1.1\r\nHost: h\r\nX-Latin: caf\xe9\r\nConnection: close\r\n\r\n"
    scope, _ = scope_via_raw(srv.port, head)
    assert ["x-latin", "caf\xe9"] in scope["headers"]


def test_request_head_split_into_single_bytes(srv):
    """llhttp's span callbacks split across reads (field notes): names and values cut at
    every byte must still arrive whole."""
    head = (b"POST /split/p%C3%A4th?q=abc HTTP/1.1\r\nHost: split.test\r\n"
            b"X-Long-Name-Header: some longer value\r\nX-Dup: 1\r\nX-Dup: 2\r\n"
            b"Content-Length: 4\r\n\r\nbody")
    with RawConnection(srv.port) as conn:
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(head)):
            conn.send(head[i:i + 1])
            if i % 8 == 0:
                time.sleep(0.002)
        resp = conn.read_response()
    scope = json.loads(resp.body)
    assert scope["path"] == "/split/p\u00e4th"
    assert scope["query_string"] == "q=abc"
    assert scope["headers"] == [["host", "split.test"],
                                ["x-long-name-header", "some longer value"],
                                ["x-dup", "1"], ["x-dup", "2"], ["content-length", "4"]]
    assert scope["body_len"] == 4


def test_client_port_differs_per_connection(srv):
    ports = set()
    for _ in range(3):
        scope, local = scope_via_raw(srv.port, b"GET / HTTP/1.1\r\nHost: h\r\n"
                                               b"Connection: close\r\n\r\n")
        assert scope["client"][1] == local
        ports.add(local)
    assert len(ports) == 3


def test_state_is_a_shallow_copy_per_request(srv):
    with httpx.Client(base_url=srv.url, timeout=5) as client:
        first = client.get("/s").json()["state"]
        second = client.get("/s").json()["state"]
    assert first is not None and second is not None, "scope has no 'state'"
    assert "db" in first["keys"] and "shared" in first["keys"]
    # A key one request set in its copy is not seen by the next request...
    assert first["leaked"] is None
    assert second["leaked"] is None
    # ...but the objects inside are shared: the list grew.
    assert second["shared_len"] == first["shared_len"] + 1


def test_root_path(server):
    srv = server("scope_app:app", "--root-path", "/prefix")
    r = httpx.get(srv.url + "/x/y?q=1", timeout=5)
    scope = r.json()
    assert scope["root_path"] == "/prefix"
    # Whether path carries root_path is a convention (uvicorn >= 0.26 prepends it, as the
    # ASGI spec's 2023 clarification says); either way the request path ends it.
    assert scope["path"] in ("/x/y", "/prefix/x/y")
    assert scope["raw_path"] in ("/x/y", "/prefix/x/y")
    assert scope["query_string"] == "q=1"
