"""PROXY protocol v1 and v2 (--proxy-protocol, --bind proxy:ADDRESS): the header's addresses
become the scope's client and server; without a valid header in time, or from an untrusted
peer, the connection is closed without an answer."""

import json
import os
import signal
import socket
import struct
import tempfile
import time

import pytest

from support import RawConnection, free_port

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
REQUEST = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


def v2(command, family, body):
    return SIGNATURE + bytes([0x20 | command, family]) + struct.pack("!H", len(body)) + body


def v2_inet(src, dst, sport, dport, command=1, tlvs=b""):
    body = socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst)
    return v2(command, 0x11, body + struct.pack("!HH", sport, dport) + tlvs)


def v2_inet6(src, dst, sport, dport):
    body = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
    return v2(1, 0x21, body + struct.pack("!HH", sport, dport))


def scope_after(port, header, request=REQUEST, **kw):
    with RawConnection(port, **kw) as conn:
        conn.send(header + request)
        local_port = None if kw.get("uds") else conn.local_port
        resp = conn.read_response()
        assert resp.status == 200, resp
        return json.loads(resp.body), local_port


def closed_without_answer(conn, timeout=3.0):
    data, closed = conn.read_until_close(timeout)
    return closed and data == b""


@pytest.fixture(scope="module")
def srv(module_server):
    port = free_port()
    s = module_server("proxy_app:app", "--bind", f"proxy:127.0.0.1:{port}",
                      "--timeout-request-header", "1", port=None)
    s.port = port
    return s


def test_v1_tcp4(srv):
    scope, _ = scope_after(srv.port, b"PROXY TCP4 203.0.113.5 198.51.100.2 56324 443\r\n")
    assert scope["client"] == ["203.0.113.5", 56324]
    assert scope["server"] == ["198.51.100.2", 443]


def test_v1_tcp6(srv):
    scope, _ = scope_after(srv.port, b"PROXY TCP6 2001:db8::5 2001:db8::1 4711 8443\r\n")
    assert scope["client"] == ["2001:db8::5", 4711]
    assert scope["server"] == ["2001:db8::1", 8443]


def test_v1_unknown_keeps_the_connection(srv):
    scope, local_port = scope_after(srv.port, b"PROXY UNKNOWN\r\n")
    assert scope["client"] == ["127.0.0.1", local_port]
    assert scope["server"] == ["127.0.0.1", srv.port]


def test_v2_inet_with_tlvs(srv):
    tlvs = b"\x04\x00\x03abc" + b"\xea\x00\x05vpc-1"
    scope, _ = scope_after(srv.port, v2_inet("203.0.113.9", "198.51.100.3", 1234, 80, tlvs=tlvs))
    assert scope["client"] == ["203.0.113.9", 1234]
    assert scope["server"] == ["198.51.100.3", 80]


def test_v2_inet6(srv):
    scope, _ = scope_after(srv.port, v2_inet6("2001:db8::9", "2001:db8::3", 5555, 443))
    assert scope["client"] == ["2001:db8::9", 5555]
    assert scope["server"] == ["2001:db8::3", 443]


def test_v2_local_keeps_the_connection(srv):
    scope, local_port = scope_after(srv.port, v2(0, 0x00, b""))
    assert scope["client"] == ["127.0.0.1", local_port]
    scope, local_port = scope_after(srv.port, v2_inet("203.0.113.9", "198.51.100.3", 1, 2,
                                                      command=0))
    assert scope["client"] == ["127.0.0.1", local_port]


def test_header_and_request_in_pieces_and_keep_alive(srv):
    header = b"PROXY TCP4 203.0.113.5 198.51.100.2 56324 443\r\n"
    with RawConnection(srv.port) as conn:
        for i in range(0, len(header), 7):
            conn.send(header[i:i + 7])
            time.sleep(0.01)
        for _ in range(2):
            conn.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            resp = conn.read_response()
            assert json.loads(resp.body)["client"] == ["203.0.113.5", 56324]


def test_proxy_headers_are_judged_by_the_proxied_client(srv):
    spoof = b"X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-Proto: https\r\n"
    request = REQUEST.replace(b"\r\n\r\n", b"\r\n" + spoof + b"\r\n")
    scope, _ = scope_after(srv.port, b"PROXY TCP4 203.0.113.5 198.51.100.2 1 2\r\n", request)
    assert scope["client"] == ["203.0.113.5", 1]
    assert scope["scheme"] == "http"
    scope, _ = scope_after(srv.port, b"PROXY TCP4 127.0.0.1 198.51.100.2 1 2\r\n", request)
    assert scope["client"] == ["1.1.1.1", 0]
    assert scope["scheme"] == "https"


@pytest.mark.parametrize("bad", [
    REQUEST,                                                   # no header at all
    b"PROXY TCP4 203.0.113.5 198.51.100.2 56324\r\n" + REQUEST,  # a field missing
    b"PROXY TCP4 ::1 ::1 1 2\r\n" + REQUEST,                   # wrong family
    b"PROXY UNKNOWN " + b"x" * 120 + b"\r\n" + REQUEST,        # longer than 107 bytes
    SIGNATURE + b"\x23\x11\x00\x0c" + b"\x00" * 12 + REQUEST,  # v2 command 3
    SIGNATURE + b"\x21\x21\x00\x0c" + b"\x00" * 12 + REQUEST,  # v2 INET6 shorter than 36
])
def test_invalid_header_closes(srv, bad):
    with RawConnection(srv.port) as conn:
        conn.send(bad)
        assert closed_without_answer(conn)


def test_truncated_header_closes_at_the_header_timeout(srv):
    for partial in (b"PROXY TCP4 203.0.113.5 198.5", v2_inet("1.2.3.4", "5.6.7.8", 1, 2)[:20]):
        with RawConnection(srv.port) as conn:
            conn.send(partial)
            started = time.monotonic()
            assert closed_without_answer(conn, 5)
            assert 0.8 < time.monotonic() - started < 4


def test_untrusted_peer_is_closed(server):
    port = free_port()
    server("proxy_app:app", "--bind", f"proxy:127.0.0.1:{port}",
           "--forwarded-allow-ips", "10.0.0.1", port=None)
    with RawConnection(port) as conn:
        conn.send(b"PROXY TCP4 203.0.113.5 198.51.100.2 1 2\r\n" + REQUEST)
        assert closed_without_answer(conn)


def test_global_flag_and_ipv6_listener(server):
    srv = server("proxy_app:app", "--proxy-protocol")
    scope, _ = scope_after(srv.port, b"PROXY TCP4 203.0.113.5 198.51.100.2 7 8\r\n")
    assert scope["client"] == ["203.0.113.5", 7]
    port = free_port()
    server("proxy_app:app", "--bind", f"proxy:[::1]:{port}", port=None)
    scope, _ = scope_after(port, v2_inet("203.0.113.6", "198.51.100.2", 9, 10), host="::1")
    assert scope["client"] == ["203.0.113.6", 9]


def test_only_the_marked_listener_takes_it(server):
    plain, proxied = free_port(), free_port()
    server("proxy_app:app", "--bind", f"127.0.0.1:{plain}", "--bind", f"proxy:127.0.0.1:{proxied}",
           port=None)
    scope, local_port = scope_after(plain, b"")
    assert scope["client"] == ["127.0.0.1", local_port]
    scope, _ = scope_after(proxied, b"PROXY TCP4 203.0.113.5 198.51.100.2 7 8\r\n")
    assert scope["client"] == ["203.0.113.5", 7]


def test_unix_listener(server):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "p.sock")
        server("proxy_app:app", "--bind", f"proxy:unix:{path}", "--forwarded-allow-ips", "unix",
               port=None)
        scope, _ = scope_after(None, b"PROXY TCP4 203.0.113.5 198.51.100.2 7 8\r\n", uds=path)
        assert scope["client"] == ["203.0.113.5", 7]
        assert scope["server"] == ["198.51.100.2", 8]
        src = b"/run/client.sock".ljust(108, b"\x00")
        dst = b"/run/haproxy.sock".ljust(108, b"\x00")
        scope, _ = scope_after(None, v2(1, 0x31, src + dst), uds=path)
        assert scope["client"] is None
        assert scope["server"] == ["/run/haproxy.sock", None]


def test_binary_upgrade_keeps_each_listeners_choice(tmp_path):
    """USR2: the new master inherits the sockets, and which of them take the PROXY protocol
    (the socket itself cannot tell)."""
    from master_support import MasterServer, reap, read_pid_file, set_child_subreaper, wait_gone
    from support import poll

    plain, proxied = free_port(), free_port()
    pid_file = tmp_path / "asgid.pid"
    set_child_subreaper(True)
    srv = MasterServer("proxy_app:app", ["--bind", f"127.0.0.1:{plain}", "--bind",
                                         f"proxy:127.0.0.1:{proxied}", "--pid", pid_file],
                       add_port=False)
    try:
        srv.start()
        srv.adopted = True
        srv.signal(signal.SIGUSR2)
        new_master = poll(lambda: (lambda p: p if p and p != srv.pid else None)(
            read_pid_file(pid_file)), 20)
        if new_master:
            srv.other_masters.append(new_master)
        assert new_master, srv.stderr_text()[-3000:]
        assert srv.wait_exit(20) == 0
        scope, local_port = scope_after(plain, b"")
        assert scope["client"] == ["127.0.0.1", local_port]
        scope, _ = scope_after(proxied, b"PROXY TCP4 203.0.113.5 198.51.100.2 7 8\r\n")
        assert scope["client"] == ["203.0.113.5", 7]
        with RawConnection(proxied) as conn:
            conn.send(REQUEST)
            assert closed_without_answer(conn)
        os.kill(new_master, signal.SIGTERM)
        code = reap(new_master, 15)
        assert code == 0 or (code is None and wait_gone(new_master, 15)), code
    finally:
        problems = srv.finish()
        set_child_subreaper(False)
    assert not problems, problems
