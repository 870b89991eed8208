"""A client that leaves is not an app error: no ERROR line, no traceback, one access-log line
per request (499 when nothing was sent), and the worker serves the next client."""
import socket
import time

import pytest

from support import get_ok


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server("disconnect_app:app", "--log-level", "debug", allow_tracebacks=True)


def open_request(port, target):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(f"GET {target} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    return sock


def test_sse_client_leaving_is_not_an_error(srv):
    offset = len(srv.stderr_text())
    for _ in range(3):
        sock = open_request(srv.port, "/events")
        got = sock.recv(65536)
        assert got.startswith(b"HTTP/1.1 200 "), got[:100]
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()  # a reset: the next send fails at once
    assert srv.wait_stderr(r"app ended after the client went away", 10, offset)
    time.sleep(0.3)
    log = srv.stderr_text()[offset:]
    assert "Traceback" not in log, log
    assert "ERROR" not in log.upper().replace("CLIENTDISCONNECT", ""), log
    assert get_ok(srv.port, "/ok").body == b"ok"
    # Each abandoned stream has its access-log line, with the status that was sent.
    assert srv.wait_stdout(r'"GET /events HTTP/1.1" 200', 5)


def test_client_leaving_before_the_response_logs_499(srv):
    sock = open_request(srv.port, "/slow?s=0.5")
    time.sleep(0.1)
    sock.close()
    assert srv.wait_stdout(r'"GET /slow\?s=0.5 HTTP/1.1" 499 0 ', 5), srv.stdout_text()[-2000:]
    assert get_ok(srv.port, "/ok").body == b"ok"


def test_a_real_bug_after_a_disconnect_is_still_logged(srv):
    offset = len(srv.stderr_text())
    sock = open_request(srv.port, "/bug_after_disconnect")
    time.sleep(0.1)
    sock.close()
    assert srv.wait_stderr(r"bug-after-disconnect", 5, offset)
    log = srv.stderr_text()[offset:]
    assert "Exception in ASGI application" in log and "Traceback" in log, log
