"""App errors become 500 (or a cut connection once the response started), one traceback in
the error log, and the worker keeps serving."""

import re
import time
import uuid

import pytest

from support import IncompleteResponse, RawConnection, get_ok


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server("errors_app:app", allow_tracebacks=True)


def call(srv, path, token):
    with RawConnection(srv.port) as conn:
        conn.request("GET", path, headers=[("X-Token", token), ("Connection", "close")])
        return conn.read_response(timeout=5)


def new_log(srv, offset, wait_for=None, timeout=5.0):
    if wait_for:
        assert srv.wait_stderr(wait_for, timeout, offset), \
            f"{wait_for!r} not in the error log within {timeout} s"
    time.sleep(0.3)  # let any duplicate record arrive
    return srv.stderr_text()[offset:]


def tracebacks_mentioning(log: str, text: str) -> int:
    """How many logged tracebacks mention `text` (records of other requests may arrive
    late in the window; each traceback runs until the next timestamped record)."""
    parts = log.split("Traceback (most recent call last)")[1:]
    return sum(1 for p in parts if text in re.split(r"\n\[\d{4}-", p, maxsplit=1)[0])


def test_exception_before_start_is_500_with_one_traceback(srv):
    token = uuid.uuid4().hex
    offset = len(srv.stderr_text())
    resp = call(srv, "/raise_before", token)
    assert resp.status == 500
    log = new_log(srv, offset, f"boom-before-{token}")
    assert tracebacks_mentioning(log, f"boom-before-{token}") == 1, log
    assert "AppBoom" in log
    assert get_ok(srv.port, "/ok").body == b"ok"
    # The access log (stdout) records the 500; the traceback is not there.
    assert srv.wait_stdout(r"/raise_before[^\n]*\b500\b", 5)
    assert f"boom-before-{token}" not in srv.stdout_text()


def test_pipelined_error_answered_in_order(srv):
    with RawConnection(srv.port) as conn:
        conn.send(b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\n"
                  b"GET /raise_before HTTP/1.1\r\nHost: t\r\n\r\n"
                  b"GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert conn.read_response().body == b"ok"
        assert conn.read_response().status == 500
        rest, closed = conn.read_until_close(5)
    # After a 500 the server may close; if it answers the third request, it is the 200.
    assert rest == b"" or rest.startswith(b"HTTP/1.1 200"), rest[:200]
    assert rest == b"" or rest.endswith(b"ok")


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_exception_after_start_cuts_the_response(srv, framing):
    token = uuid.uuid4().hex
    offset = len(srv.stderr_text())
    path = "/raise_after" + ("?cl=1" if framing == "content-length" else "")
    with RawConnection(srv.port) as conn:
        conn.request("GET", path, headers=[("X-Token", token)])
        data, closed = conn.read_until_close(5)
    assert closed, "connection left open after the app failed mid-response"
    # If nothing had reached the socket yet, a 500 is as good as a cut response.
    if not data.startswith(b"HTTP/1.1 500"):
        assert data.startswith(b"HTTP/1.1 200"), data[:300]
        head, _, body = data.partition(b"\r\n\r\n")
        if framing == "chunked":
            assert not body.endswith(b"0\r\n\r\n"), "a failed response was ended as complete"
        else:
            assert len(body) < 100
    log = new_log(srv, offset, f"boom-after-{token}")
    assert tracebacks_mentioning(log, f"boom-after-{token}") == 1, log
    assert get_ok(srv.port, "/ok").body == b"ok"


def test_httpx_never_sees_a_complete_200(srv):
    import httpx
    try:
        r = httpx.get(srv.url + "/raise_after?cl=1", timeout=5)
    except httpx.RemoteProtocolError:
        return
    assert r.status_code == 500


def test_return_without_response_is_500(srv):
    resp = call(srv, "/no_response", uuid.uuid4().hex)
    assert resp.status == 500
    assert get_ok(srv.port, "/ok").body == b"ok"


def test_body_before_start_is_500_and_named(srv):
    offset = len(srv.stderr_text())
    resp = call(srv, "/body_before_start", uuid.uuid4().hex)
    assert resp.status == 500
    log = new_log(srv, offset, "http.response.start")
    assert "'http.response.start'" in log, log
    assert "http.response.body" in log, log
    assert get_ok(srv.port, "/ok").body == b"ok"


def test_wrong_message_type_is_500_and_named(srv):
    offset = len(srv.stderr_text())
    resp = call(srv, "/wrong_type", uuid.uuid4().hex)
    assert resp.status == 500
    log = new_log(srv, offset, "http.response.bogus")
    assert "http.response.start" in log, log
    assert get_ok(srv.port, "/ok").body == b"ok"


def test_bad_status_type_is_500(srv):
    resp = call(srv, "/bad_status", uuid.uuid4().hex)
    assert resp.status == 500
    assert get_ok(srv.port, "/ok").body == b"ok"


def test_many_errors_in_a_row_keep_the_worker_alive(srv):
    paths = ["/raise_before", "/no_response", "/body_before_start", "/wrong_type",
             "/raise_after"]
    for i in range(25):
        with RawConnection(srv.port) as conn:
            conn.request("GET", paths[i % len(paths)], headers=[("Connection", "close")])
            try:
                conn.read_response(timeout=5)
            except IncompleteResponse:
                pass
    assert get_ok(srv.port, "/ok").body == b"ok"
    assert srv.proc.poll() is None
