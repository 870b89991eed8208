"""Recycling workers with overlap (the replacement is ready before the old one drains):
--limit-max-requests (+ jitter), --max-worker-lifetime, --max-worker-memory."""

from __future__ import annotations

import time

import httpx
import pytest

from master_support import MASTER_APP, get_tcp, wait_worker_count, wait_workers, workers
from master_support import master  # noqa: F401 - the fixture


def sequential_requests(srv, n: int, pace: float = 0.0) -> tuple[list[int], list[str]]:
    """n GETs of /pid, one after another (`pace` seconds apart), alternating a keep-alive
    client and a fresh connection; (pids that answered, failures)."""
    pids, failures = [], []
    with httpx.Client(base_url=srv.url, timeout=10) as client:
        for i in range(n):
            time.sleep(pace)
            try:
                if i % 2:
                    r = get_tcp(srv.port, "/pid", timeout=10)
                    status, body = r.status, r.body.decode()
                else:
                    resp = client.get("/pid")
                    status, body = resp.status_code, resp.text
            except (OSError, AssertionError, httpx.HTTPError) as e:
                failures.append(f"request {i}: {e!r}"[:200])
                continue
            if status != 200:
                failures.append(f"request {i}: status {status}")
            else:
                pids.append(int(body))
    return pids, failures


@pytest.mark.parametrize("jitter", [0, 10])
def test_limit_max_requests_recycles_without_failures(master, jitter):
    args = ["--workers", "1", "--limit-max-requests", "50"]
    if jitter:
        args += ["--limit-max-requests-jitter", str(jitter)]
    srv = master(MASTER_APP, *args)
    (first,) = wait_worker_count(srv.pid, 1)
    # Recycling overlaps: a worker past its limit keeps serving until its replacement is
    # ready (no capacity dip), so the requests are paced to give replacements time to boot.
    pids, failures = sequential_requests(srv, 300, pace=0.005)
    assert not failures, failures[:5]
    assert len(pids) == 300
    distinct = list(dict.fromkeys(pids))
    assert len(distinct) >= 3, f"only {len(distinct)} worker pids in 300 requests: {distinct}"
    assert distinct[0] == first
    counts = [pids.count(p) for p in distinct[:-1]]  # the last one is still serving
    assert min(counts) >= 50, f"a worker retired before its limit: {counts}"
    assert max(counts) <= 50 + jitter + 60, f"requests per retired worker: {counts}"
    assert srv.pid not in distinct
    assert srv.wait_stderr(r"Booting worker 1 \(pid %d\)" % distinct[1], 3)


def test_max_worker_lifetime_recycles_while_requests_succeed(master):
    srv = master(MASTER_APP, "--workers", "1", "--max-worker-lifetime", "2")
    (first,) = wait_worker_count(srv.pid, 1)
    t0 = time.monotonic()
    seen, failures, changed_at = [], [], None
    with httpx.Client(base_url=srv.url, timeout=10) as client:
        while time.monotonic() - t0 < 6.0:
            try:
                r = client.get("/pid")
                if r.status_code != 200:
                    failures.append(f"status {r.status_code}")
                else:
                    pid = int(r.text)
                    seen.append(pid)
                    if pid != first and changed_at is None:
                        changed_at = time.monotonic() - t0
            except httpx.HTTPError as e:
                failures.append(repr(e)[:200])
            time.sleep(0.02)
    assert not failures, failures[:5]
    assert changed_at is not None, f"pid never changed in 6 s: {set(seen)}"
    assert changed_at < 5.0, f"first change after {changed_at:.1f} s"
    assert len(seen) > 100
    # Recycled again and again, never leaving more than one worker for long.
    assert len(set(seen)) >= 2
    assert len(workers(srv.pid)) <= 2


def test_max_worker_memory_recycles_a_bloated_worker(master):
    srv = master(MASTER_APP, "--workers", "1", "--max-worker-memory", "120")
    (first,) = wait_worker_count(srv.pid, 1)
    r = httpx.get(srv.url + "/hog?mib=200", timeout=10)
    assert r.status_code == 200
    after = wait_workers(srv.pid, lambda w: len(w) == 1 and first not in w, 8,
                         "the bloated worker replaced")
    assert get_tcp(srv.port).status == 200
    assert int(get_tcp(srv.port).body) in after


def test_small_worker_is_not_recycled_for_memory(master):
    srv = master(MASTER_APP, "--workers", "1", "--max-worker-memory", "400")
    (first,) = wait_worker_count(srv.pid, 1)
    httpx.get(srv.url + "/hog?mib=10", timeout=10)
    time.sleep(2.5)
    assert list(workers(srv.pid)) == [first]
