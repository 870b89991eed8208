"""Machinery for the WebSocket tests (test_websocket_*.py), on top of support.py.

- `ws_server` fixture: like conftest's `server`, but with ASGID_WS_TEST_PEER=uvicorn it runs
  `.venv/bin/uvicorn --ws websockets` with the same options instead (uvicorn's flag names are
  asgid's), so that the suite's own logic can be checked against a server that already speaks
  WebSocket. `asgid_only(why)` skips a test whose behaviour is asgid's alone (its flags, its
  master, or where uvicorn differs from what asgid promises; `why` says which).
- A frame builder (`frame`, RFC 6455 section 5.2) and `RawWebSocket`, a WebSocket client on
  a raw socket that sends exactly the bytes a test crafts and reads frames back, answering
  nothing unless told to (pings, close).
- `connect`: the `websockets` library's sync client with bounded timeouts and no keepalive
  pings of its own.
- Marker files: the apps append what they saw to a file named in the query string; the tests
  poll it (support.wait_for_file), which works the same for every server.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import time
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest
from websockets.sync.client import connect as _ws_connect

import support
from support import RawConnection, wait_for_file

PEER = os.environ.get("ASGID_WS_TEST_PEER", "asgid")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3

# Opcodes, RFC 6455 section 5.2.
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def asgid_only(why: str):
    # ASGID_WS_TEST_ALL=1 runs them against the stand-in too (to see how it differs).
    skip = PEER != "asgid" and not os.environ.get("ASGID_WS_TEST_ALL")
    return pytest.mark.skipif(skip, reason=f"asgid only: {why}")


# ---------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------

class UvicornServer(support.Server):
    """uvicorn standing in for asgid: same options, `--ws websockets`, the venv's uvicorn."""

    def command(self) -> list[str]:
        venv = support.project_venv() or str(support.HERE.parent.parent / ".venv")
        args = list(self.args)
        if "--ws" not in args:
            args = ["--ws", "websockets", *args]
        cmd = [str(Path(venv) / "bin" / "uvicorn"), *args, "--port", str(self.port)]
        return cmd + ([self.app] if self.app else [])

    def finish(self) -> list[str]:
        # uvicorn re-raises the signal it stopped on, so it "dies" from the teardown's SIGTERM.
        problems = super().finish()
        return [p for p in problems if "died from signal SIGTERM" not in p]


@pytest.fixture
def ws_server():
    started: list[support.Server] = []

    def start(app, *args, env=None, allow_tracebacks=False, ready_timeout=15.0):
        cls = UvicornServer if PEER == "uvicorn" else support.Server
        srv = cls(app, args, env=env, ready_timeout=ready_timeout,
                  allow_tracebacks=allow_tracebacks)
        started.append(srv)
        return srv.start()

    yield start
    problems = [p for srv in started for p in srv.finish()]
    assert not problems, "; ".join(problems)


def ws_url(srv, path: str = "/") -> str:
    return f"ws://127.0.0.1:{srv.port}{path}"


def connect(srv, path: str = "/", **kw):
    """A `websockets` sync client; keyword arguments go to websockets.sync.client.connect."""
    kw.setdefault("open_timeout", 5)
    kw.setdefault("close_timeout", 5)
    kw.setdefault("ping_interval", None)
    kw.setdefault("max_size", 32 << 20)
    kw.setdefault("proxy", None)
    return _ws_connect(ws_url(srv, path), **kw)


def marker_query(path) -> str:
    return "marker=" + quote(str(path))


def wait_line(path, prefix: str, timeout: float = 5.0) -> str | None:
    """The first line of the app's marker file that starts with `prefix` (None on timeout)."""
    text = wait_for_file(path, lambda t: any(x.startswith(prefix) for x in t.splitlines()),
                         timeout)
    return next((x for x in text.splitlines() if x.startswith(prefix)), None)


# ---------------------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------------------

def frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0,
          mask: bool = True, mask_key: bytes = b"\x37\xfa\x21\x3d",
          length: int | None = None) -> bytes:
    """One frame as RFC 6455 section 5.2 lays it out. `rsv` is the three RSV bits (0-7);
    `length` overrides the declared payload length (for lies)."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv & 7) << 4 | opcode & 0xF])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 1 << 16:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    return head + mask_key + apply_mask(payload, mask_key)


def apply_mask(payload: bytes, mask_key: bytes) -> bytes:
    """RFC 6455 section 5.3, on whole integers (a byte loop is too slow for megabytes)."""
    n = len(payload)
    if n == 0:
        return b""
    key = int.from_bytes((mask_key * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")


def close_payload(code: int | None, reason: str = "") -> bytes:
    return b"" if code is None else struct.pack("!H", code) + reason.encode()


def deflate_message(data: bytes) -> bytes:
    """A permessage-deflate payload (RFC 7692 section 7.2.1: raw deflate, the final empty
    block's 00 00 ff ff tail removed)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def accept_value(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def upgrade_headers(key: str | None = "dGhlIHNhbXBsZSBub25jZQ==", version: str | None = "13",
                    extra=()) -> list[tuple[str, str]]:
    headers = [("Upgrade", "websocket"), ("Connection", "Upgrade")]
    if key is not None:
        headers.append(("Sec-WebSocket-Key", key))
    if version is not None:
        headers.append(("Sec-WebSocket-Version", version))
    return headers + list(extra)


class Frame:
    def __init__(self, fin: bool, rsv: int, opcode: int, payload: bytes):
        self.fin, self.rsv, self.opcode, self.payload = fin, rsv, opcode, payload

    @property
    def close_code(self) -> int | None:
        assert self.opcode == CLOSE, f"not a close frame: opcode {self.opcode}"
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    @property
    def close_reason(self) -> str:
        return self.payload[2:].decode("utf-8", "replace")

    def __repr__(self):
        return f"Frame(fin={self.fin}, rsv={self.rsv}, opcode={self.opcode}, {self.payload[:40]!r})"


class RawWebSocket:
    """A client on a raw socket: `open()` does the opening handshake, then frames go out
    exactly as built and come back parsed. Nothing is answered automatically."""

    def __init__(self, port: int, path: str = "/", *, extra_headers=(),
                 rcvbuf: int | None = None):
        self.conn = RawConnection(port)
        if rcvbuf is not None:
            import socket
            self.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.path = path
        self.extra_headers = list(extra_headers)
        self.response = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.conn.close()

    def open(self, timeout: float = 5.0) -> "RawWebSocket":
        key = base64.b64encode(os.urandom(16)).decode()
        self.conn.request("GET", self.path, headers=upgrade_headers(key, extra=self.extra_headers))
        self.response = self.conn.read_head(timeout)
        assert self.response.status == 101, self.response.raw_head
        assert self.response.header("sec-websocket-accept") == accept_value(key)
        return self

    def send(self, data: bytes):
        self.conn.send(data)

    def send_frame(self, opcode: int, payload: bytes = b"", **kw):
        self.conn.send(frame(opcode, payload, **kw))

    def read_frame(self, timeout: float = 5.0) -> Frame:
        b0, b1 = self.conn.read_exact(2, timeout)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.conn.read_exact(2, timeout))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.conn.read_exact(8, timeout))[0]
        assert not b1 & 0x80, "a server frame is masked (RFC 6455 section 5.1)"
        payload = self.conn.read_exact(n, timeout)
        return Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, payload)

    def read_until(self, opcodes, timeout: float = 5.0, answer_pings: bool = False) -> Frame:
        """The next frame with one of `opcodes`, skipping (or answering) pings and pongs."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.read_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode in opcodes:
                return f
            if f.opcode == PING and answer_pings:
                self.send_frame(PONG, f.payload)
            elif f.opcode not in (PING, PONG):
                raise AssertionError(f"expected opcode in {opcodes}, got {f}")

    def read_message(self, timeout: float = 5.0) -> tuple[int, bytes]:
        """One whole data message from the server, however it fragmented it: (opcode, data)."""
        first = self.read_until((TEXT, BINARY), timeout)
        parts, f = [first.payload], first
        while not f.fin:
            f = self.read_until((CONT,), timeout)
            parts.append(f.payload)
        return first.opcode, b"".join(parts)

    def expect_close(self, code: int, timeout: float = 5.0) -> Frame:
        """Reads until the server's close frame (data frames before it are skipped: the app
        may have been sending) and checks its code; then the TCP connection must end."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.read_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode == CLOSE:
                break
        assert f.close_code == code, f"close code {f.close_code} ({f.close_reason!r}), not {code}"
        return f

    def wait_closed(self, timeout: float = 5.0) -> bool:
        return self.conn.wait_closed(timeout)
