"""Apps rely on real asyncio semantics inside handlers (field notes: "ASGI details")."""

import threading

import httpx
import pytest


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server("asyncio_app:app")


def get(srv, path, timeout=10):
    r = httpx.get(srv.url + path, timeout=timeout)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "exception" not in body, body["exception"]
    return body


def test_sleep(srv):
    assert get(srv, "/sleep")["elapsed"] >= 0.045


def test_create_task_and_gather(srv):
    assert get(srv, "/gather")["results"] == [9, 1, 4]


def test_asyncio_timeout_and_wait_for_fire(srv):
    assert get(srv, "/timeout") == {"timeout": True, "wait_for": True}


def test_task_group(srv):
    assert get(srv, "/taskgroup") == {"results": [100, 101, 102], "caught": "in group"}


def test_current_task_exists(srv):
    assert get(srv, "/current_task") == {"task": True, "running_loop": True, "done": False}


def test_contextvars_do_not_leak_between_sequential_requests(srv):
    with httpx.Client(base_url=srv.url, timeout=5) as client:
        for i in range(5):
            body = client.get(f"/contextvar?id=seq{i}&sleep=0").json()
            assert body == {"before": None, "after": f"seq{i}", "child": f"seq{i}"}, body


def test_contextvars_isolated_between_concurrent_requests(srv):
    results = {}

    def one(i):
        results[i] = httpx.get(f"{srv.url}/contextvar?id=c{i}&sleep=0.2", timeout=10).json()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert len(results) == 10
    for i, body in results.items():
        assert body == {"before": None, "after": f"c{i}", "child": f"c{i}"}, body


def test_run_in_executor(srv):
    assert get(srv, "/executor") == {"value_ok": True}


def test_start_server_and_open_connection(srv):
    assert get(srv, "/server_roundtrip") == {"reply": "PING\n"}


def test_httpx_async_client_to_the_same_server(srv):
    assert get(srv, "/httpx_self") == {"status": 200, "json": {"results": [9, 1, 4]}}


def test_call_soon_threadsafe_wakes_the_loop(srv):
    body = get(srv, "/threadsafe")
    assert body["value"] == 42
    # The loop must wake up on the thread's call, not on some unrelated later event.
    assert body["elapsed"] < 1.0


def test_subprocess_exec_output_and_returncodes(srv):
    assert get(srv, "/subprocess") == {"out": "hello world\n", "rc": 0, "fail_rc": 7}


def test_add_signal_handler(server):
    # Its own server: if the signal is not routed to the handler, SIGUSR2's default action
    # would kill the process (the fixture reports that).
    srv = server("asyncio_app:app")
    assert get(srv, "/signal") == {"got": "SIGUSR2"}
    assert httpx.get(srv.url + "/sleep", timeout=5).status_code == 200
