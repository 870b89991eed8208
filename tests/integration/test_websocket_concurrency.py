"""Many WebSockets at once on one worker: 500 connections all open together, each echoing its
own messages, then all closed cleanly (asyncio client, every step under a deadline)."""

from __future__ import annotations

import asyncio
import resource

import pytest
from websockets.asyncio.client import connect as aconnect

from ws_support import ws_server, ws_url  # noqa: F401 - ws_server is a fixture

APP = "ws_app:app"
N = 500


@pytest.fixture(autouse=True)
def enough_descriptors():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < N + 200:
        if hard != resource.RLIM_INFINITY and hard < N + 200:
            pytest.skip(f"open-files hard limit {hard} is below {N + 200}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (N + 200, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def many(url: str, n: int):
    sem = asyncio.Semaphore(100)  # connects in flight at once (the listen backlog's sake)

    async def open_one(i):
        async with sem:
            return await aconnect(f"{url}?i={i}", open_timeout=20, close_timeout=10,
                                  ping_interval=None, proxy=None)

    conns = await asyncio.gather(*(open_one(i) for i in range(n)), return_exceptions=True)
    failed = [c for c in conns if isinstance(c, BaseException)]
    opened = [c for c in conns if not isinstance(c, BaseException)]
    try:
        assert not failed, f"{len(failed)} of {n} did not open; first: {failed[0]!r}"

        async def talk(i, ws):
            for k in range(3):
                await ws.send(f"{i}:{k}")
                assert await ws.recv() == f"{i}:{k}"
            return i

        # All open at this point: every exchange happens with the others still connected.
        done = await asyncio.gather(*(talk(i, ws) for i, ws in enumerate(opened)))
        assert sorted(done) == list(range(n))
        codes = []

        async def close(ws):
            await ws.close()
            codes.append(ws.close_code)

        await asyncio.gather(*(close(ws) for ws in opened))
        assert codes == [1000] * n, {c for c in codes}
    finally:
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)


def test_500_concurrent_websockets(ws_server):
    srv = ws_server(APP)
    asyncio.run(asyncio.wait_for(many(ws_url(srv, "/echo"), N), 90))
    # And the worker still serves afterwards.
    asyncio.run(asyncio.wait_for(many(ws_url(srv, "/echo"), 5), 20))
