"""Subprotocols (RFC 6455 section 4.2.2, ASGI `subprotocols` and websocket.accept's
`subprotocol`) and the extra response headers an app gives in websocket.accept."""

from __future__ import annotations

import json

import pytest

from ws_support import TEXT, RawWebSocket, connect, ws_server  # noqa: F401 - ws_server is a fixture

APP = "ws_app:app"


@pytest.fixture
def srv(ws_server):
    return ws_server(APP)


def test_chosen_subprotocol_and_extra_headers(srv):
    with connect(srv, "/extras?pick=superchat", subprotocols=["chat", "superchat"]) as ws:
        assert ws.subprotocol == "superchat"
        assert ws.response.headers["Sec-WebSocket-Protocol"] == "superchat"
        assert ws.response.headers["x-extra"] == "yes"
        assert ws.response.headers["set-cookie"] == "session=1"
        assert json.loads(ws.recv(timeout=5)) == ["chat", "superchat"]
        ws.send("hi")
        assert ws.recv(timeout=5) == "hi"


def test_no_subprotocol_chosen_means_no_header(srv):
    with RawWebSocket(srv.port, "/extras?pick=none",
                      extra_headers=[("Sec-WebSocket-Protocol", "chat, superchat")]).open() as ws:
        assert ws.response.header("sec-websocket-protocol") is None
        assert ws.response.header("x-extra") == "yes"
        assert ws.read_message() == (TEXT, b'["chat", "superchat"]')


def test_subprotocols_from_repeated_headers(srv):
    with RawWebSocket(srv.port, "/extras?pick=b",
                      extra_headers=[("Sec-WebSocket-Protocol", "a"),
                                     ("Sec-WebSocket-Protocol", "b, c")]).open() as ws:
        assert ws.response.header("sec-websocket-protocol") == "b"
        assert ws.read_message() == (TEXT, b'["a", "b", "c"]')
