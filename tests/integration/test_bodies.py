"""Request bodies: streaming, chunked decoding, backpressure, 100-continue, disconnects."""

import hashlib
import json
import os
import select
import socket
import threading
import time

import httpx
import pytest

from support import RawConnection, get_ok, tree_rss_kb, wait_for_file


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server("body_app:app")


def test_content_length_body_is_streamed(srv):
    body = os.urandom(8 * 1024 * 1024)
    r = httpx.post(srv.url + "/echo", content=body, timeout=20)
    assert r.status_code == 200
    got = r.json()
    assert got["len"] == len(body)
    assert got["sha256"] == hashlib.sha256(body).hexdigest()
    assert got["last_more_body"] is False
    # 8 MB arrives in more than one http.request message (streamed, not buffered whole).
    assert got["chunks"] >= 2, got


def test_chunked_body_raw(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                  b"Connection: close\r\n\r\n"
                  b"5\r\nhello\r\n"
                  b"6;name=value\r\n world\r\n"
                  b"A\r\n0123456789\r\n"
                  b"0\r\nX-Trailer: t\r\n\r\n")
        resp = conn.read_response()
    assert resp.status == 200
    got = json.loads(resp.body)
    expected = b"hello world0123456789"
    assert got["len"] == len(expected)
    assert got["sha256"] == hashlib.sha256(expected).hexdigest()


def test_chunked_body_sent_in_pieces(srv):
    # The chunk framing split at awkward places across several writes.
    parts = [b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
             b"1", b"0\r\n", b"abcdefgh", b"ijklmnop\r", b"\n3\r\nxyz", b"\r\n0\r", b"\n\r\n"]
    with RawConnection(srv.port) as conn:
        for p in parts:
            conn.send(p)
            time.sleep(0.02)
        resp = conn.read_response()
    got = json.loads(resp.body)
    expected = b"abcdefghijklmnopxyz"
    assert got["len"] == len(expected)
    assert got["sha256"] == hashlib.sha256(expected).hexdigest()


def test_many_tiny_chunks(srv):
    body = bytes(range(256)) * 20
    data = b"".join(b"1\r\n" + body[i:i + 1] + b"\r\n" for i in range(len(body)))
    with RawConnection(srv.port) as conn:
        conn.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                  b"Connection: close\r\n\r\n" + data + b"0\r\n\r\n")
        got = json.loads(conn.read_response().body)
    assert got["len"] == len(body)
    assert got["sha256"] == hashlib.sha256(body).hexdigest()


def test_parallel_uploads_keep_bodies_apart(srv):
    errors = []

    def worker(seed):
        try:
            with httpx.Client(base_url=srv.url, timeout=20) as client:
                for i in range(5):
                    body = os.urandom(512 * 1024 + seed * 997 + i)
                    got = client.post("/echo", content=body).json()
                    if got["sha256"] != hashlib.sha256(body).hexdigest():
                        errors.append((seed, i, got["len"], len(body)))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((seed, repr(e)))

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors


def test_large_chunked_body(srv):
    piece = os.urandom(64 * 1024)
    count = 96  # 6 MB

    def gen():
        for _ in range(count):
            yield piece

    r = httpx.post(srv.url + "/echo", content=gen(), timeout=20)
    got = r.json()
    assert got["len"] == len(piece) * count
    assert got["sha256"] == hashlib.sha256(piece * count).hexdigest()
    assert got["chunks"] >= 2


@pytest.mark.parametrize("request_bytes", [
    b"GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    b"0\r\n\r\n",
], ids=["get", "content-length-0", "chunked-empty"])
def test_empty_body(srv, request_bytes):
    with RawConnection(srv.port) as conn:
        conn.send(request_bytes)
        resp = conn.read_response()
    got = json.loads(resp.body)
    assert got == {"len": 0, "sha256": hashlib.sha256(b"").hexdigest(), "chunks": 0,
                   "last_more_body": False}


def test_backpressure_on_ignored_upload(srv):
    """A 500 MB upload to an app that sleeps without reading must not be buffered."""
    total = 500 * 1024 * 1024
    baseline = tree_rss_kb(srv.pid)
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    sock.sendall(b"POST /ignore?sleep=4 HTTP/1.1\r\nHost: t\r\n"
                 b"Content-Length: %d\r\n\r\n" % total)
    stop = threading.Event()
    sent = [0]
    chunk = b"x" * (1024 * 1024)

    def sender():
        sock.setblocking(False)
        while not stop.is_set() and sent[0] < total:
            _, writable, _ = select.select([], [sock], [], 0.1)
            if not writable:
                continue
            try:
                sent[0] += sock.send(chunk)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                return

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    peak = baseline
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        peak = max(peak, tree_rss_kb(srv.pid))
        time.sleep(0.05)
    stop.set()
    t.join(5)
    sock.close()
    grew_mb = (peak - baseline) / 1024
    print(f"backpressure: RSS +{grew_mb:.1f} MB, {sent[0] >> 20} MB sent")
    assert grew_mb < 50, f"server RSS grew by {grew_mb:.0f} MB while {sent[0] >> 20} MB sent"
    # The sender was held back by TCP flow control: far less than the whole body went out.
    assert sent[0] < total // 2, f"{sent[0] >> 20} MB accepted from an app that reads nothing"
    assert get_ok(srv.port, "/echo").status == 200


def test_response_without_reading_body(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"POST /early HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n"
                  + b"y" * 65536)
        resp = conn.read_response()
    assert resp.status == 200
    assert resp.body == b"early"


@pytest.mark.parametrize("copies", [5, 30000])
def test_unread_body_is_never_parsed_as_a_request(srv, copies):
    """The body of a request the app answered without reading must be skipped (or the
    connection closed), never read as the next request."""
    fake = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    body = fake * copies
    data = (b"POST /early HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body + b"GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    with RawConnection(srv.port) as conn:
        writer = threading.Thread(target=lambda: _send_ignoring_errors(conn.sock, data),
                                  daemon=True)
        writer.start()
        first = conn.read_response()
        rest, closed = conn.read_until_close(5)
        writer.join(5)
    assert first.status == 200 and first.body == b"early"
    assert b"not found" not in rest and b" 404 " not in rest, rest[:300]
    assert b" 400 " not in rest[:20], rest[:300]
    if rest:
        assert rest.startswith(b"HTTP/1.1 200"), rest[:300]
        assert b'"len": 0' in rest
    else:
        assert closed


def _send_ignoring_errors(sock, data):
    try:
        sock.sendall(data)
    except OSError:
        pass


def test_expect_100_continue_sent_when_app_receives(srv, tmp_path):
    marker = tmp_path / "expect.txt"
    with RawConnection(srv.port) as conn:
        conn.send(b"POST /expect?delay=1&marker=%s HTTP/1.1\r\nHost: t\r\n"
                  b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n" % str(marker).encode())
        ready, _, _ = select.select([conn.sock], [], [], 5)
        assert ready, "neither 100 Continue nor a response within 5 s"
        # Data arrived: the app must already have been about to call receive().
        seen = marker.read_text() if marker.exists() else ""
        assert "receive" in seen, "100 Continue sent before the app called receive()"
        interim = conn.read_head(3)
        assert interim.version == "HTTP/1.1"
        assert interim.status == 100
        conn.send(b"hello")
        resp = conn.read_response()
    assert resp.status == 200
    assert resp.body == b"got:hello"


def test_no_100_continue_when_app_does_not_read(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"POST /early HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        resp = conn.read_response()
    assert resp.interim == [], "100 Continue sent though the app never called receive()"
    assert resp.status == 200 and resp.body == b"early"


def test_no_100_continue_for_http10(srv):
    # RFC 9110 section 10.1.1: never send 100 Continue to an HTTP/1.0 client.
    with RawConnection(srv.port) as conn:
        conn.send(b"POST /expect?delay=0 HTTP/1.0\r\nHost: t\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\nhello")
        resp = conn.read_response()
    assert resp.interim == []
    assert resp.body == b"got:hello"


@pytest.mark.parametrize("request_head", [
    b"GET /wait_disconnect?marker=%s HTTP/1.1\r\nHost: t\r\n\r\n",
    b"POST /wait_disconnect?marker=%s HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"
    b"0123456789",
], ids=["no-body", "mid-body"])
def test_disconnect_delivered_when_client_goes_away(srv, tmp_path, request_head):
    marker = tmp_path / "disc.txt"
    conn = RawConnection(srv.port)
    conn.send(request_head.replace(b"%s", str(marker).encode()))
    assert "started" in wait_for_file(marker, lambda t: "started" in t, 5)
    conn.close()
    text = wait_for_file(marker, lambda t: "send-" in t, 5)
    assert text.split()[:2] == ["started", "http.disconnect"]
    assert get_ok(srv.port, "/echo").status == 200


def test_send_after_disconnect_raises_oserror(srv, tmp_path):
    # ASGI HTTP spec 2.4: send() on a closed connection raises a subclass of OSError.
    marker = tmp_path / "disc.txt"
    conn = RawConnection(srv.port)
    conn.request("GET", f"/wait_disconnect?marker={marker}")
    assert "started" in wait_for_file(marker, lambda t: "started" in t, 5)
    conn.close()
    text = wait_for_file(marker, lambda t: "send-" in t, 5)
    assert text.split()[2:] == ["send-oserror"]


def test_receive_after_response_returns_disconnect(srv, tmp_path):
    marker = tmp_path / "after.txt"
    with RawConnection(srv.port) as conn:
        conn.request("GET", f"/after_response?marker={marker}")
        resp = conn.read_response()
        assert resp.status == 200 and resp.body == b"done"
        # The connection stays open (keep-alive); receive() must not wait for it.
        text = wait_for_file(marker, lambda t: t.strip() != "", 6)
    what, elapsed = text.split()
    assert what == "http.disconnect"
    assert float(elapsed) < 2.0
