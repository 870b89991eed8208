"""The opening handshake (RFC 6455 section 4.2) and the websocket connection scope (ASGI
WebSocket spec 2.4): good upgrades get 101 with the right accept value, bad ones the right
HTTP status, and `--ws none` serves an upgrade request as plain HTTP."""

from __future__ import annotations

import json

import pytest

from support import RawConnection
from ws_support import (RawWebSocket, accept_value, asgid_only, connect, upgrade_headers,
                        ws_server)  # noqa: F401 - ws_server is a fixture

APP = "ws_app:app"


@pytest.fixture
def srv(ws_server):
    return ws_server(APP)


def upgrade(port, path="/echo", **kw) -> tuple:
    conn = RawConnection(port)
    conn.request("GET", path, headers=upgrade_headers(**kw))
    return conn.read_head(), conn


def test_accept_value_and_headers(srv):
    key = "dGhlIHNhbXBsZSBub25jZQ=="  # the sample of RFC 6455 section 1.3
    head, conn = upgrade(srv.port, key=key)
    with conn:
        assert head.status == 101, head.raw_head
        assert head.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        assert head.header("sec-websocket-accept") == accept_value(key)
        assert head.header("upgrade").lower() == "websocket"
        assert "upgrade" in head.connection_tokens()
        assert head.header("content-length") in (None, "0")
        assert head.header("transfer-encoding") is None


@pytest.mark.parametrize("key", [None, "", "not base64!", "c2hvcnQ=",  # 5 bytes, not 16
                                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"],  # 21 bytes
                         ids=["missing", "empty", "not-base64", "too-short", "too-long"])
def test_bad_key_is_400(srv, key):
    head, conn = upgrade(srv.port, key=key)
    with conn:
        assert head.status == 400, head.raw_head


@asgid_only("uvicorn (websockets) answers an unsupported version with 400, not 426")
@pytest.mark.parametrize("version", ["8", "14", "abc"])
def test_unsupported_version_is_426_naming_13(srv, version):
    head, conn = upgrade(srv.port, version=version)
    with conn:
        assert head.status == 426, head.raw_head
        assert head.header("sec-websocket-version") == "13"


@asgid_only("uvicorn (websockets) accepts an upgrade that carries a body")
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_upgrade_with_a_body_is_400(srv, framing):
    conn = RawConnection(srv.port)
    with conn:
        if framing == "content-length":
            conn.request("GET", "/echo", headers=upgrade_headers(), body=b"hello")
        else:
            conn.request("GET", "/echo", headers=[*upgrade_headers(),
                                                   ("Transfer-Encoding", "chunked")],
                         body=b"5\r\nhello\r\n0\r\n\r\n")
        head = conn.read_head()
        assert head.status == 400, head.raw_head


def test_scope(srv):
    with connect(srv, "/scope?a=1&b=%20", additional_headers={"X-Custom": "v1"},
                 subprotocols=["chat", "superchat"]) as ws:
        # Read at once: the app returns after sending, and the client's background thread
        # closes the socket as soon as the server's close frame arrives (possibly together
        # with the 101).
        try:
            local_port = ws.local_address[1]
        except OSError:
            local_port = None
        view = json.loads(ws.recv(timeout=5))
    assert view["type"] == "websocket"
    assert view["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert view["http_version"] == "1.1"
    assert view["scheme"] == "ws"
    assert view["path"] == "/scope"
    assert view["raw_path"] == "/scope"
    assert view["query_string"] == "a=1&b=%20"
    assert view["root_path"] == ""
    assert view["client"][0] == "127.0.0.1" and view["client"][1] > 0
    assert local_port in (None, view["client"][1])
    assert view["server"] == ["127.0.0.1", srv.port]
    assert view["subprotocols"] == ["chat", "superchat"]
    assert ["x-custom", "v1"] in view["headers"]
    assert view["types"] == {"raw_path": "bytes", "query_string": "bytes",
                             "headers": ["bytes/bytes"]}
    assert view["state_token"] == "from-lifespan"


def test_scope_advertises_denial_responses(srv):
    with connect(srv, "/scope") as ws:
        view = json.loads(ws.recv(timeout=5))
    assert "websocket.http.response" in view["extensions"]


def test_scope_without_subprotocols_has_an_empty_list(srv):
    with connect(srv, "/scope") as ws:
        view = json.loads(ws.recv(timeout=5))
    assert view["subprotocols"] == []


def test_root_path(ws_server):
    srv = ws_server(APP, "--root-path", "/mount")
    with connect(srv, "/scope") as ws:
        view = json.loads(ws.recv(timeout=5))
    assert view["root_path"] == "/mount"
    # As for HTTP (test_scope.py), whether path carries root_path is a convention.
    assert view["path"] in ("/scope", "/mount/scope")


def test_ws_none_serves_the_upgrade_as_http(ws_server):
    srv = ws_server(APP, "--ws", "none")
    head, conn = upgrade(srv.port, "/echo")
    with conn:
        assert head.status == 200, head.raw_head
        assert head.header("sec-websocket-accept") is None
        body = conn.read_exact(int(head.header("content-length")))
        assert body == b"http /echo upgrade=websocket"


def test_plain_http_still_served_next_to_websockets(srv):
    with RawConnection(srv.port) as conn:
        conn.request("GET", "/plain", headers=[("Connection", "close")])
        resp = conn.read_response()
    assert resp.status == 200 and resp.body == b"http /plain upgrade="
    with RawWebSocket(srv.port, "/echo") as ws:
        ws.open()
