"""Request tasks start eagerly on Python 3.12+ (issue 10): a request that needs no wait runs to
completion while its task is created, inside the connection's read of the request. These hold
on every Python asgid embeds (3.11 schedules the first step instead): each request has a real
current task and its own context, pipelined responses keep their order, and a graceful
shutdown that times out cancels the task."""

import json
import signal

import pytest

from support import RawConnection, wait_for_file


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server("eager_app:app")


def pipeline(port, paths):
    data = b"".join(f"GET {p} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for p in paths)
    with RawConnection(port) as conn:
        conn.send(data)
        return [conn.read_response() for _ in paths]


def test_request_without_wait_has_a_current_task_and_its_own_context(srv):
    responses = pipeline(srv.port, [f"/now?id=n{i}" for i in range(20)])
    for i, resp in enumerate(responses):
        assert resp.status == 200, resp
        body = json.loads(resp.body)
        # A contextvar set by an earlier request on the same connection is not seen here.
        assert body["id"] == f"n{i}" and body["before"] is None, body
        assert body["task"] is True and body["task_done"] is False, body
    for i in range(20):
        seen = pipeline(srv.port, [f"/seen?id=n{i}"])[0]
        assert json.loads(seen.body) == {"same_task": True, "var": f"n{i}"}


def test_pipelined_responses_keep_request_order(srv):
    # Immediate answers behind slow ones and the other way round, on one connection.
    paths = ["/later?id=a&ms=200", "/now?id=b", "/later?id=c&ms=50", "/now?id=d",
             "/now?id=e", "/later?id=f&ms=0", "/now?id=g"]
    responses = pipeline(srv.port, paths)
    ids = [json.loads(r.body)["id"] for r in responses]
    assert ids == list("abcdefg")


def test_graceful_timeout_cancels_a_waiting_request_task(server, tmp_path):
    marker = tmp_path / "events.txt"
    srv = server("eager_app:app", "--timeout-graceful-shutdown", "1")
    conn = RawConnection(srv.port)
    conn.request("GET", f"/hang?marker={marker}")
    assert "started" in wait_for_file(marker, lambda x: "started" in x, 5)
    srv.signal(signal.SIGTERM)
    assert "cancelled" in wait_for_file(marker, lambda x: "cancelled" in x, 6)
    assert srv.wait_exit(6) is not None
    conn.close()
