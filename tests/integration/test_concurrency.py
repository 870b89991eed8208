"""--limit-concurrency and concurrent request handling."""

import threading
import time

import httpx

from support import RawConnection, wait_for_file


def test_limit_concurrency_answers_503_beyond_the_limit(server, tmp_path):
    srv = server("slow_app:app", "--limit-concurrency", "1")
    marker = tmp_path / "slow.txt"
    result = {}

    def slow():
        result["slow"] = httpx.get(f"{srv.url}/slow?s=1.5&marker={marker}", timeout=10)

    t = threading.Thread(target=slow)
    t.start()
    assert "started" in wait_for_file(marker, lambda x: "started" in x, 5)
    busy = httpx.get(srv.url + "/fast", timeout=5)
    t.join(10)
    assert busy.status_code == 503
    assert result["slow"].status_code == 200
    assert result["slow"].content.startswith(b"slow done")
    # Once the slow one is done there is room again.
    assert httpx.get(srv.url + "/fast", timeout=5).status_code == 200


def test_requests_run_concurrently(server):
    srv = server("slow_app:app")
    results = []
    lock = threading.Lock()

    def one():
        r = httpx.get(f"{srv.url}/slow?s=0.5", timeout=10)
        with lock:
            results.append(r.status_code)

    t0 = time.monotonic()
    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    elapsed = time.monotonic() - t0
    assert results == [200] * 20
    # 20 x 0.5 s one after the other would take 10 s.
    assert elapsed < 5, f"20 sleeping requests took {elapsed:.1f} s"


def test_many_simultaneous_connections(server):
    srv = server("slow_app:app")
    conns = [RawConnection(srv.port) for _ in range(200)]
    try:
        for c in conns:
            c.request("GET", "/fast")
        bodies = [c.read_response(timeout=10).body for c in conns]
    finally:
        for c in conns:
            c.close()
    assert bodies == [b"fast"] * 200
