"""Refusing a WebSocket: websocket.close before websocket.accept is an HTTP 403 (ASGI
WebSocket spec, "Close - send event"); the websocket.http.response extension sends a response
of the app's own (status, headers, a body streamed with more_body); an app that fails or
sends the wrong message before accepting gets a 500 and one log record."""

from __future__ import annotations

import re
import time

import pytest

from support import RawConnection, get_ok
from ws_support import asgid_only, upgrade_headers, ws_server  # noqa: F401 - ws_server is a fixture

APP = "ws_app:app"


@pytest.fixture
def srv(ws_server):
    return ws_server(APP, allow_tracebacks=True)


def upgrade_response(port, path):
    with RawConnection(port) as conn:
        conn.request("GET", path, headers=upgrade_headers())
        resp = conn.read_response()
        closed = conn.wait_closed(5) if "close" in resp.connection_tokens() else None
    return resp, closed


def test_close_before_accept_is_403(srv):
    resp, _ = upgrade_response(srv.port, "/close-before-accept")
    assert resp.status == 403, resp.raw_head
    assert resp.header("sec-websocket-accept") is None
    assert resp.header("upgrade") is None


def test_denial_response(srv):
    resp, _ = upgrade_response(srv.port, "/deny?parts=1")
    assert resp.status == 401, resp.raw_head
    assert resp.header("x-denied") == "yes"
    assert resp.header("sec-websocket-accept") is None
    assert resp.body == b"whole"


@asgid_only("uvicorn's websockets implementation answers after the first body part: only "
            "b'part1-' arrives")
def test_denial_response_streams_status_headers_and_body(srv):
    resp, _ = upgrade_response(srv.port, "/deny")
    assert resp.status == 401, resp.raw_head
    assert resp.header("x-denied") == "yes"
    assert resp.header("content-type") == "text/plain"
    assert resp.header("sec-websocket-accept") is None
    assert resp.body == b"part1-part2"


def error_lines(text: str) -> list[str]:
    return [x for x in text.splitlines() if re.search(r"(?i)\berror\b", x)]


def test_exception_before_accept_is_500_logged_once(srv):
    start = len(srv.stderr_text())
    resp, _ = upgrade_response(srv.port, "/error-before-accept")
    assert resp.status == 500, resp.raw_head
    assert srv.wait_stderr(r"ws-error-before-accept", 5, start)
    time.sleep(0.3)  # a second record would follow at once
    log = srv.stderr_text()[start:]
    assert log.count("Traceback (most recent call last)") == 1, log
    assert get_ok(srv.port).status == 200


def test_send_before_accept_names_both_messages(srv):
    start = len(srv.stderr_text())
    resp, _ = upgrade_response(srv.port, "/send-before-accept")
    assert resp.status in (403, 500), resp.raw_head
    m = srv.wait_stderr(r".*'websocket\.send'.*", 5, start)
    assert m, srv.stderr_text()[start:]
    assert "websocket.accept" in m.group(0), m.group(0)
