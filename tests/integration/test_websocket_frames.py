"""Bad frames and their close codes (RFC 6455 sections 5, 7.4.1, 8.1), crafted byte by byte on
a raw socket: invalid UTF-8 text is 1007 (checked across fragments, before the message ends);
protocol violations are 1002; a message over --ws-max-size is 1009, counted after
permessage-deflate inflation (RFC 7692) so a small compressed frame cannot expand without
bound. Keepalive: a peer that does not answer pings is closed with 1011."""

from __future__ import annotations

import zlib

import pytest

from support import wait_for_file
from ws_support import (BINARY, CLOSE, CONT, PING, PONG, TEXT, RawWebSocket, asgid_only,
                        close_payload, deflate_message, frame, marker_query, wait_line,
                        ws_server)  # noqa: F401 - ws_server is a fixture

APP = "ws_app:app"
MAX_SIZE = 100_000


@pytest.fixture
def srv(ws_server):
    return ws_server(APP, "--ws-max-size", str(MAX_SIZE))


def expect_failure(ws: RawWebSocket, code: int):
    """The server's close frame carries `code`; after our answer the TCP connection ends."""
    ws.expect_close(code)
    try:
        ws.send_frame(CLOSE, close_payload(code))
    except OSError:
        pass  # the server may already have closed: it owed us nothing more
    assert ws.wait_closed(10), f"the connection stayed open after the {code} close"


def open_ws(srv, marker=None, **kw) -> RawWebSocket:
    path = "/echo" + (f"?{marker_query(marker)}" if marker else "")
    return RawWebSocket(srv.port, path, **kw).open()


# ---------------------------------------------------------------------------------------
# 1007: invalid UTF-8 in a text message
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", [b"\xff", b"ok \xc3\x28", b"\xed\xa0\x80",  # surrogate
                                     b"\xf4\x90\x80\x80",  # above U+10FFFF
                                     b"\xc0\xaf"],  # overlong
                         ids=["ff", "bad-continuation", "surrogate", "too-big", "overlong"])
def test_invalid_utf8_text_is_1007(srv, tmp_path, payload):
    marker = tmp_path / "events"
    with open_ws(srv, marker) as ws:
        ws.send_frame(TEXT, payload)
        expect_failure(ws, 1007)
    assert wait_line(marker, "disconnect"), "the app never heard of the failed connection"
    assert "received" not in open(marker).read(), "invalid text reached the app"


def test_invalid_utf8_is_caught_before_the_message_ends(srv):
    """Fail fast (RFC 6455 8.1): the first fragment already cannot be UTF-8; the message is
    never finished, and the close must come anyway."""
    with open_ws(srv) as ws:
        ws.send_frame(TEXT, b"valid start \xf0\x28\x8c\x28", fin=False)
        expect_failure(ws, 1007)


def test_utf8_split_across_fragments_is_valid(srv):
    text = "snow ☃ man".encode()
    cut = text.index("☃".encode()) + 1
    with open_ws(srv) as ws:
        ws.send_frame(TEXT, text[:cut], fin=False)
        ws.send_frame(CONT, text[cut:], fin=True)
        assert ws.read_until((TEXT,)).payload == text


def test_invalid_utf8_across_fragments_is_1007(srv):
    with open_ws(srv) as ws:
        ws.send_frame(TEXT, "ok ☃".encode()[:-1], fin=False)  # a sequence cut short...
        ws.send_frame(CONT, b"A", fin=True)  # ...and not continued
        expect_failure(ws, 1007)


# ---------------------------------------------------------------------------------------
# 1002: protocol errors
# ---------------------------------------------------------------------------------------

BAD_FRAMES = {
    "unmasked": [frame(TEXT, b"hello", mask=False)],
    "rsv1-without-extension": [frame(TEXT, b"hello", rsv=4)],
    "rsv2": [frame(TEXT, b"hello", rsv=2)],
    "rsv3": [frame(BINARY, b"hello", rsv=1)],
    "opcode-3": [frame(0x3, b"x")],
    "opcode-0xb": [frame(0xB, b"x")],
    "fragmented-ping": [frame(PING, b"a", fin=False), frame(CONT, b"b")],
    "ping-126-bytes": [frame(PING, b"p" * 126)],
    "close-126-bytes": [frame(CLOSE, close_payload(1000, "r" * 124))],
    "continuation-without-start": [frame(CONT, b"orphan")],
    "new-message-inside-fragmented": [frame(TEXT, b"a", fin=False), frame(TEXT, b"b")],
}


@pytest.mark.parametrize("frames", list(BAD_FRAMES.values()), ids=list(BAD_FRAMES))
def test_protocol_violation_is_1002(srv, frames):
    with open_ws(srv) as ws:
        for data in frames:
            ws.send(data)
        expect_failure(ws, 1002)


def test_a_good_frame_after_the_same_setup_is_echoed(srv):
    """The control for the cases above: the same raw client with correct frames works."""
    with open_ws(srv) as ws:
        ws.send_frame(PING, b"p" * 125)
        assert ws.read_until((PONG,)).payload == b"p" * 125
        ws.send_frame(TEXT, b"a", fin=False)
        ws.send_frame(CONT, b"b")
        assert ws.read_until((TEXT,)).payload == b"ab"


# ---------------------------------------------------------------------------------------
# 1009: --ws-max-size
# ---------------------------------------------------------------------------------------

def test_message_at_the_limit_passes(srv):
    with open_ws(srv) as ws:
        ws.send_frame(BINARY, b"m" * MAX_SIZE)
        assert ws.read_message(timeout=10) == (BINARY, b"m" * MAX_SIZE)


@pytest.mark.parametrize("fragments", [1, 4], ids=["one-frame", "fragmented"])
def test_message_over_the_limit_is_1009(srv, tmp_path, fragments):
    marker = tmp_path / "events"
    data = b"m" * (MAX_SIZE + 1)
    step = -(-len(data) // fragments)
    with open_ws(srv, marker) as ws:
        for i in range(fragments):
            ws.send_frame(BINARY if i == 0 else CONT, data[i * step:(i + 1) * step],
                          fin=i == fragments - 1)
        expect_failure(ws, 1009)
    assert "received" not in wait_for_file(marker, lambda _: True, 0)


@asgid_only("uvicorn (websockets) never tells the app of a 1009 for a single oversized frame")
def test_app_hears_of_the_1009(srv, tmp_path):
    marker = tmp_path / "events"
    with open_ws(srv, marker) as ws:
        ws.send_frame(BINARY, b"m" * (MAX_SIZE + 1))
        expect_failure(ws, 1009)
    assert wait_line(marker, "disconnect"), "the app never heard of the failed connection"


def test_oversized_frame_header_is_refused_before_the_payload(srv):
    """A frame that declares 1 GB: the close comes without the client sending the payload."""
    with open_ws(srv) as ws:
        ws.send(frame(BINARY, b"", length=1 << 30))  # the header and mask key only
        expect_failure(ws, 1009)


# Offered without client_max_window_bits, so the server cannot shrink the window this client
# compresses with (RFC 7692 section 7.1.2.2): the frames below use the full 32 KB window.
DEFLATE = [("Sec-WebSocket-Extensions", "permessage-deflate")]


def inflate_reply(payload: bytes) -> bytes:
    return zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")


def test_compressed_message_under_the_limit_is_echoed(srv):
    """The control for the inflation cases: the raw client's deflate is what servers take."""
    text = b"compressible " * 1000
    with open_ws(srv, extra_headers=DEFLATE) as ws:
        assert "permessage-deflate" in (ws.response.header("sec-websocket-extensions") or "")
        ws.send_frame(TEXT, deflate_message(text), rsv=4)
        reply = ws.read_until((TEXT,))
        assert (inflate_reply(reply.payload) if reply.rsv & 4 else reply.payload) == text


def test_rsv1_on_a_continuation_frame_is_1002(srv):
    """RFC 7692 section 6.1: only a message's first frame carries the compression bit."""
    payload = deflate_message(b"compressible " * 100)
    with open_ws(srv, extra_headers=DEFLATE) as ws:
        ws.send_frame(TEXT, payload[:5], fin=False, rsv=4)
        ws.send_frame(CONT, payload[5:], rsv=4)
        expect_failure(ws, 1002)


def test_deflate_turned_off_is_not_negotiated(ws_server):
    srv = ws_server(APP, "--ws-per-message-deflate", "false")
    text = b"compressible " * 1000
    with open_ws(srv, extra_headers=DEFLATE) as ws:
        assert ws.response.header("sec-websocket-extensions") is None, ws.response.raw_head
        ws.send_frame(TEXT, text)
        reply = ws.read_until((TEXT,))
        assert reply.rsv == 0 and reply.payload == text
        # Without the extension, RSV1 is a reserved bit (RFC 6455 section 5.2).
        ws.send_frame(TEXT, deflate_message(text), rsv=4)
        expect_failure(ws, 1002)


def test_small_compressed_frame_inflating_past_the_limit_is_1009(srv, tmp_path):
    marker = tmp_path / "events"
    bomb = deflate_message(b"\x00" * (10 * MAX_SIZE))
    assert len(bomb) < MAX_SIZE // 50
    with open_ws(srv, marker, extra_headers=DEFLATE) as ws:
        ws.send_frame(BINARY, bomb, rsv=4)
        expect_failure(ws, 1009)
    assert "received" not in open(marker).read()


def test_decompression_bomb_under_default_limit_is_1009(ws_server):
    """The issue's example: ~50 KB on the wire that inflates to 50 MB, default 16 MiB limit."""
    srv = ws_server(APP)
    bomb = deflate_message(b"\x00" * (50 << 20))
    assert len(bomb) < 100_000
    with open_ws(srv, extra_headers=DEFLATE) as ws:
        ws.send_frame(BINARY, bomb, rsv=4)
        expect_failure(ws, 1009)


# ---------------------------------------------------------------------------------------
# Keepalive pings
# ---------------------------------------------------------------------------------------

def test_peer_that_ignores_pings_is_closed_1011(ws_server, tmp_path):
    srv = ws_server(APP, "--ws-ping-interval", "0.2", "--ws-ping-timeout", "0.3")
    marker = tmp_path / "events"
    with open_ws(srv, marker) as ws:
        ping = ws.read_frame(timeout=5)
        assert ping.opcode == PING, ping
        # No pong, ever: the server must give up with 1011 (read past further pings).
        ws.expect_close(1011, timeout=10)
        assert ws.wait_closed(10)
    assert wait_line(marker, "disconnect"), "the app never heard of the dead peer"


def test_peer_that_answers_pings_stays(ws_server):
    srv = ws_server(APP, "--ws-ping-interval", "0.2", "--ws-ping-timeout", "0.3")
    with open_ws(srv) as ws:
        pings = 0
        while pings < 6:  # > 1 s of pings, several timeouts' worth
            f = ws.read_frame(timeout=5)
            assert f.opcode == PING, f
            ws.send_frame(PONG, f.payload)
            pings += 1
        ws.send_frame(TEXT, b"still here")
        assert ws.read_until((TEXT,), answer_pings=True).payload == b"still here"
