"""Data messages both ways: text and binary echo, 1 MB messages with and without
permessage-deflate, fragmented messages reassembled with control frames between the fragments
(RFC 6455 section 5.4), and the same through Starlette and FastAPI endpoints."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
from websockets.exceptions import InvalidStatus

from ws_support import (BINARY, CONT, PING, PONG, TEXT, RawWebSocket, connect, frame,
                        ws_server)  # noqa: F401 - ws_server is a fixture

APP = "ws_app:app"


@pytest.fixture
def srv(ws_server):
    return ws_server(APP)


def test_echo_text_and_binary(srv):
    with connect(srv, "/echo") as ws:
        for text in ["hello", "", "héllo wörld ✓ 🎉", "x" * 200]:
            ws.send(text)
            assert ws.recv(timeout=5) == text
        for data in [b"\x00\xff\x10binary", b"", os.urandom(70000)]:
            ws.send(data)
            assert ws.recv(timeout=5) == data


@pytest.mark.parametrize("compression", ["deflate", None], ids=["deflate", "plain"])
def test_one_megabyte_messages(srv, compression):
    text = "".join(chr(0x41 + i % 26) for i in range(1 << 20))
    data = os.urandom(1 << 20)
    with connect(srv, "/echo", compression=compression) as ws:
        negotiated = ws.response.headers.get("Sec-WebSocket-Extensions") or ""
        assert ("permessage-deflate" in negotiated) == (compression == "deflate"), negotiated
        for _ in range(3):
            ws.send(text)
            assert ws.recv(timeout=10) == text
            ws.send(data)
            assert ws.recv(timeout=10) == data


# Sizes around the engine's thresholds: the 7- and 16-bit length forms, the 16 KiB a header
# alone is believed for, the 64 KiB of one socket read, and more than a read.
BOUNDARY_SIZES = [1, 125, 126, 16383, 16384, 16385, 65535, 65536, 65537, 300_000]


def test_binary_messages_whatever_their_size_and_read_boundaries(srv):
    messages = [os.urandom(n) for n in BOUNDARY_SIZES]
    with RawWebSocket(srv.port, "/echo").open() as ws:
        for data in messages:
            # The header alone first, then the payload in three pieces: the server reads the
            # message in several goes.
            wire = frame(BINARY, data)
            header = len(wire) - len(data)
            ws.send(wire[:header])
            time.sleep(0.02)
            for cut in range(3):
                ws.send(wire[header + cut * len(data) // 3:header + (cut + 1) * len(data) // 3])
                time.sleep(0.01)
            assert ws.read_message() == (BINARY, data), len(data)
        # All at once: headers fall anywhere in the server's reads. (Sent from a thread: the
        # echoes come back while it sends, and both directions must keep moving.)
        sender = threading.Thread(
            target=ws.send, args=(b"".join(frame(BINARY, data) for data in messages),))
        sender.start()
        try:
            for data in messages:
                assert ws.read_message(timeout=10) == (BINARY, data), len(data)
        finally:
            sender.join(10)


def test_each_binary_message_stays_the_apps_own(srv):
    messages = [os.urandom(n) for n in BOUNDARY_SIZES] * 2
    with RawWebSocket(srv.port, "/hoard").open() as ws:
        ws.send(b"".join(frame(BINARY, data) for data in messages) + frame(TEXT, b"done"))
        for data in messages:
            assert ws.read_message(timeout=10) == (BINARY, data), len(data)


def test_many_messages_in_one_burst_keep_their_order(srv):
    with connect(srv, "/echo") as ws:
        for i in range(500):
            ws.send(f"m{i}")
        got = [ws.recv(timeout=5) for _ in range(500)]
    assert got == [f"m{i}" for i in range(500)]


def test_fragmented_text_with_interleaved_ping(srv):
    text = "fragmented ✓ message".encode()
    cut = text.index("✓".encode()) + 1  # inside the three bytes of the check mark
    with RawWebSocket(srv.port, "/echo").open() as ws:
        ws.send_frame(TEXT, text[:cut], fin=False)
        ws.send_frame(PING, b"in-between")
        ws.send_frame(CONT, text[cut:cut + 3], fin=False)
        ws.send_frame(CONT, b"", fin=False)
        ws.send_frame(CONT, text[cut + 3:], fin=True)
        pong = ws.read_until((PONG,))
        assert pong.payload == b"in-between"
        assert ws.read_message() == (TEXT, text)


def test_fragmented_binary_in_many_pieces(srv):
    data = os.urandom(100_000)
    pieces = [data[i:i + 7000] for i in range(0, len(data), 7000)]
    with RawWebSocket(srv.port, "/echo").open() as ws:
        for i, piece in enumerate(pieces):
            ws.send_frame(BINARY if i == 0 else CONT, piece, fin=i == len(pieces) - 1)
        assert ws.read_message() == (BINARY, data)
        ws.send_frame(TEXT, b"after")  # the connection goes on after a fragmented message
        assert ws.read_message() == (TEXT, b"after")


def test_ping_is_answered_with_its_payload(srv):
    with RawWebSocket(srv.port, "/echo").open() as ws:
        ws.send_frame(PING, b"p" * 125)  # the largest control payload (RFC 6455 5.5)
        assert ws.read_until((PONG,)).payload == b"p" * 125
        ws.send_frame(PONG, b"unsolicited")  # RFC 6455 5.5.3: no answer expected
        ws.send_frame(TEXT, b"still open")
        assert ws.read_message() == (TEXT, b"still open")


# ---------------------------------------------------------------------------------------
# Frameworks
# ---------------------------------------------------------------------------------------

def test_starlette_endpoint(ws_server):
    srv = ws_server("ws_frameworks_app:starlette_app")
    with connect(srv, "/echo", subprotocols=["proto1"]) as ws:
        assert ws.subprotocol == "proto1"
        ws.send("hello")
        assert ws.recv(timeout=5) == "starlette:hello"
        ws.send(b"\x01\x02")
        assert ws.recv(timeout=5) == b"\x01\x02"
    with pytest.raises(InvalidStatus) as info:
        connect(srv, "/deny")
    assert info.value.response.status_code == 403
    assert info.value.response.body == b"go away"
    assert info.value.response.headers["x-why"] == "denied"


def test_fastapi_endpoint(ws_server):
    srv = ws_server("ws_frameworks_app:fastapi_app")
    with connect(srv, "/items/42?prefix=%3D") as ws:
        for text in ("a", "bc"):
            ws.send(text)
            assert json.loads(ws.recv(timeout=5)) == {"item": 42, "echo": "=" + text}
    # A path that does not validate: FastAPI closes before accepting (403). Its handler sends
    # websocket.close with the validation errors (a list) as the reason: servers must not
    # turn that into a 500 (uvicorn does not).
    with pytest.raises(InvalidStatus) as info:
        connect(srv, "/items/not-a-number")
    assert info.value.response.status_code == 403
