"""Backpressure both ways. An app that does not receive: beyond --ws-max-queue messages the
server stops reading the socket, so a client's writes end up blocked instead of filling the
server's memory; nothing is lost once the app receives again. An app that sends to a client
that does not read waits in send (memory bounded by a high-water mark), and --timeout-send
ends that wait with an OSError.

Kernel socket buffers hold some megabytes whatever the server does, so the bounds below are
"far below what an unbounded server would have taken", never exact counts."""

from __future__ import annotations

import errno
import socket
import time

import pytest

from support import poll, wait_for_file
from ws_support import (BINARY, TEXT, RawWebSocket, asgid_only, frame, marker_query,
                        wait_line, ws_server)  # noqa: F401 - ws_server is a fixture

APP = "ws_app:app"
SIZE = 64 * 1024
ZERO_MASK = b"\0\0\0\0"  # a valid mask key that leaves the payload as it is: cheap to build


def sent_count(marker) -> int:
    lines = [x for x in wait_for_file(marker, lambda _: True, 0).splitlines()
             if x.startswith("sent ")]
    return int(lines[-1].split()[1]) if lines else 0


def write_until_blocked(sock: socket.socket, message: bytes, limit: int,
                        stall: float = 1.0, timeout: float = 30.0) -> tuple[int, bytes]:
    """Writes `message` over and over without blocking until the socket has taken nothing for
    `stall` seconds, `limit` messages went out, or `timeout`. Returns (whole messages handed
    to the kernel, the unsent rest of the message in progress)."""
    sock.setblocking(False)
    done, pending = 0, b""
    last_progress = deadline = time.monotonic()
    deadline += timeout
    while done < limit and time.monotonic() < deadline:
        if not pending:
            pending = message
        try:
            n = sock.send(pending)
        except BlockingIOError:
            if time.monotonic() - last_progress >= stall:
                break
            time.sleep(0.01)
            continue
        last_progress = time.monotonic()
        pending = pending[n:]
        if not pending:
            done += 1
    sock.setblocking(True)
    return done, pending


@pytest.mark.parametrize("queue", [1, 4])
def test_app_that_does_not_receive_stops_the_socket_reads(ws_server, tmp_path, queue):
    srv = ws_server(APP, "--ws-max-queue", str(queue))
    marker, go = tmp_path / "events", tmp_path / "go"
    limit = 3000  # ~200 MB: far beyond what the buffers on the way hold
    with RawWebSocket(srv.port, f"/slow-receiver?go={go}&{marker_query(marker)}").open() as ws:
        ws.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        assert wait_line(marker, "accepted")
        message = frame(BINARY, b"q" * SIZE, mask_key=ZERO_MASK)
        done, rest = write_until_blocked(ws.conn.sock, message, limit)
        assert done < limit, f"the server read {done} messages ({done * SIZE >> 20} MB) " \
                             f"for an app that receives nothing"
        # What the server holds is the queue plus what it was parsing; the rest sits in the
        # kernel's buffers (a few MB on loopback).
        assert done * SIZE < 32 << 20, f"{done} messages went out before the writes blocked"
        go.write_text("")
        ws.send(rest)
        ws.send_frame(TEXT, b"end")
        line = wait_line(marker, "received", 30)
        assert line == f"received {done + (1 if rest else 0)}", wait_for_file(marker)
        assert ws.read_until((TEXT,), timeout=10).payload.startswith(b"received ")


def test_send_to_a_client_that_does_not_read_waits(ws_server, tmp_path):
    srv = ws_server(APP)
    marker = tmp_path / "events"
    count = 1000  # 64 MB: an unbounded server would take it all at once
    ws = RawWebSocket(srv.port, f"/flood?size={SIZE}&count={count}&{marker_query(marker)}",
                      rcvbuf=16 * 1024)
    with ws.open():
        assert wait_line(marker, "accepted")
        # Wait until the app's sends stop completing for a second.
        stalled_at, last, since = None, -1, time.monotonic()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            now = sent_count(marker)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= 1.0:
                stalled_at = now
                break
            time.sleep(0.05)
        text = wait_for_file(marker, lambda _: True, 0)
        assert "completed" not in text, "every send completed for a client that reads nothing"
        assert stalled_at is not None, f"the app's sends kept completing: {last}"
        assert stalled_at * SIZE < 24 << 20, \
            f"{stalled_at} sends ({stalled_at * SIZE >> 20} MB) completed before send waited"
        assert stalled_at < count
        # Reading again lets the app go on, and nothing was lost.
        received = 0
        while received < count:
            f = ws.read_frame(timeout=10)
            if f.opcode == BINARY:
                assert len(f.payload) == SIZE
                received += 1
        assert wait_line(marker, "completed", 10)
        assert ws.read_until((8,)).close_code == 1000


@asgid_only("--timeout-send is asgid's (uvicorn has none)")
def test_timeout_send_ends_a_send_that_waits(ws_server, tmp_path):
    srv = ws_server(APP, "--timeout-send", "1")
    marker = tmp_path / "events"
    ws = RawWebSocket(srv.port, f"/flood?size={SIZE}&count=100000&{marker_query(marker)}",
                      rcvbuf=16 * 1024)
    with ws.open():
        line = wait_line(marker, "send-raised", 20)
        assert line and line.endswith("oserror=True"), wait_for_file(marker)
        # The server gives up on the connection: the client, draining now, sees its end.
        ws.conn.sock.settimeout(0.5)
        closed = poll(lambda: drained_to_end(ws.conn.sock), 20, 0)
        assert closed, "the server kept a connection whose send timed out"
    assert "completed" not in wait_for_file(marker)


def drained_to_end(sock: socket.socket) -> bool:
    try:
        return not sock.recv(1 << 20)
    except socket.timeout:
        return False
    except OSError as e:
        return e.errno in (errno.ECONNRESET, errno.EPIPE)
