"""The closing handshake (RFC 6455 sections 5.5.1, 7) and what the app sees of it: a client's
close code reaches the app and is echoed; the app's close(code, reason) reaches the client; a
client that vanishes without a close is a websocket.disconnect with 1006; a peer that never
answers our close is dropped; an app that fails after accepting is a 1011 and one log record;
a wrong message after accepting is an error naming both messages; send after the client left
raises an OSError (ASGI spec 2.4, as for HTTP)."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from ws_support import (CLOSE, TEXT, RawWebSocket, asgid_only, close_payload, connect, marker_query,
                        wait_line, ws_server)  # noqa: F401 - ws_server is a fixture

APP = "ws_app:app"


@pytest.fixture
def srv(ws_server):
    return ws_server(APP, allow_tracebacks=True)


@pytest.mark.parametrize("code,reason", [(1000, ""), (1001, "going"), (4000, "custom ✓")])
def test_client_close_code_reaches_the_app_and_is_echoed(srv, tmp_path, code, reason):
    marker = tmp_path / "events"
    with RawWebSocket(srv.port, f"/echo?{marker_query(marker)}").open() as ws:
        assert wait_line(marker, "accepted")
        ws.send_frame(CLOSE, close_payload(code, reason))
        echoed = ws.read_until((CLOSE,))
        assert echoed.close_code == code
        # RFC 6455 7.1.1: the server closes the TCP connection first.
        assert ws.wait_closed(5), "the server kept the TCP connection after the close handshake"
    line = wait_line(marker, "disconnect")
    assert line == f"disconnect {code} {reason}".rstrip(), line


def test_client_close_without_a_code_is_1005_for_the_app(srv, tmp_path):
    marker = tmp_path / "events"
    with RawWebSocket(srv.port, f"/echo?{marker_query(marker)}").open() as ws:
        assert wait_line(marker, "accepted")
        ws.send_frame(CLOSE, b"")
        echoed = ws.read_until((CLOSE,))
        assert echoed.close_code in (None, 1000), echoed  # RFC 6455 5.5.1: empty, or a code
        assert ws.wait_closed(5)
    assert wait_line(marker, "disconnect") == "disconnect 1005"  # RFC 6455 7.1.5


@pytest.mark.parametrize("code,reason", [(1000, None), (4001, "app says bye ✓"), (1008, "policy")])
def test_app_close_code_and_reason_reach_the_client(srv, tmp_path, code, reason):
    marker = tmp_path / "events"
    q = f"/close?code={code}&{marker_query(marker)}" + (f"&reason={reason}" if reason else "")
    with connect(srv, q) as ws:
        assert ws.recv(timeout=5) == "before-close"
        with pytest.raises(Exception):
            ws.recv(timeout=5)
        assert ws.protocol.close_rcvd is not None
        assert ws.protocol.close_rcvd.code == code
        assert ws.protocol.close_rcvd.reason == (reason or "")
    # The client answered the close: the app's next receive is the disconnect (its code is
    # not pinned here: the client's echo of ours, or 1005 as uvicorn reports it).
    assert wait_line(marker, "websocket.disconnect"), open(marker).read()


def test_abrupt_tcp_close_is_1006_for_the_app(srv, tmp_path):
    marker = tmp_path / "events"
    ws = RawWebSocket(srv.port, f"/echo?{marker_query(marker)}").open()
    assert wait_line(marker, "accepted")
    ws.send_frame(TEXT, b"one")
    assert ws.read_until((TEXT,)).payload == b"one"
    ws.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ws.close()  # a reset, no close frame
    assert wait_line(marker, "disconnect") == "disconnect 1006", open(marker).read()


@asgid_only("uvicorn raises RuntimeError (not an OSError) on a send after the disconnect")
@pytest.mark.parametrize("how", ["close-frame", "reset"])
def test_send_after_disconnect_raises_oserror(srv, tmp_path, how):
    marker = tmp_path / "events"
    ws = RawWebSocket(srv.port, f"/echo?{marker_query(marker)}").open()
    assert wait_line(marker, "accepted")
    if how == "close-frame":
        ws.send_frame(CLOSE, close_payload(1000))
        ws.read_until((CLOSE,))
    else:
        ws.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ws.close()
    assert wait_line(marker, "disconnect"), open(marker).read()
    line = wait_line(marker, "send-")
    assert line and line.startswith("send-raised") and line.endswith("oserror=True"), \
        open(marker).read()


def test_abrupt_fin_without_close_frame_is_1006_for_the_app(srv, tmp_path):
    marker = tmp_path / "events"
    ws = RawWebSocket(srv.port, f"/echo?{marker_query(marker)}").open()
    assert wait_line(marker, "accepted")
    ws.conn.sock.shutdown(socket.SHUT_WR)  # an orderly TCP end, but no close frame
    try:
        assert wait_line(marker, "disconnect") == "disconnect 1006", open(marker).read()
    finally:
        ws.close()


def test_peer_that_never_answers_our_close_is_dropped(srv, tmp_path):
    marker = tmp_path / "events"
    with RawWebSocket(srv.port, f"/close?code=1000&{marker_query(marker)}").open() as ws:
        assert ws.read_until((TEXT,)).payload == b"before-close"
        assert ws.read_until((CLOSE,)).close_code == 1000
        t0 = time.monotonic()
        # No answer, no TCP close: the server's close timeout must end it.
        assert ws.wait_closed(20), "the server waited more than 20 s for an answer to its close"
        assert time.monotonic() - t0 < 20
    assert wait_line(marker, "websocket.disconnect", 5), open(marker).read()


@asgid_only("uvicorn drops the TCP connection without a 1011 close frame")
def test_exception_after_accept_is_1011_logged_once(srv):
    start = len(srv.stderr_text())
    with RawWebSocket(srv.port, "/error-after-accept").open() as ws:
        assert ws.read_until((TEXT,)).payload == b"accepted"
        assert ws.read_until((CLOSE,)).close_code == 1011
    assert srv.wait_stderr(r"ws-error-after-accept", 5, start)
    time.sleep(0.3)  # a second record would follow at once
    log = srv.stderr_text()[start:]
    assert log.count("Traceback (most recent call last)") == 1, log
    with connect(srv, "/echo") as ws:  # the worker goes on serving
        ws.send("ok")
        assert ws.recv(timeout=5) == "ok"


@asgid_only("uvicorn drops the TCP connection without a 1011 close frame")
def test_wrong_message_after_accept_names_both_and_closes_1011(srv):
    start = len(srv.stderr_text())
    with RawWebSocket(srv.port, "/http-message-after-accept").open() as ws:
        assert ws.read_until((CLOSE,)).close_code == 1011
    m = srv.wait_stderr(r".*'http\.response\.start'.*", 5, start)
    assert m, srv.stderr_text()[start:]
    assert "websocket.send" in m.group(0), m.group(0)
