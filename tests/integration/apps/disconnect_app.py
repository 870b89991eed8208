"""Clients that leave early: a Starlette StreamingResponse (server-sent events), an app that
sleeps before answering, and an app whose own bug after a disconnect must still be logged."""
import asyncio

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route


async def events(request):
    async def gen():
        n = 0
        while True:  # ends when the client leaves: send() raises, Starlette re-raises
            yield f"data: {n}\n\n".encode() + b"x" * 4096
            n += 1
            await asyncio.sleep(0.005)
    return StreamingResponse(gen(), media_type="text/event-stream")


async def slow(request):
    await asyncio.sleep(float(request.query_params.get("s", "1")))
    return PlainTextResponse("late")


async def ok(request):
    return PlainTextResponse("ok")


starlette_app = Starlette(routes=[Route("/events", events), Route("/slow", slow),
                                  Route("/ok", ok)])


async def app(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == "/bug_after_disconnect":
        # Waits for the client to leave, then fails with an unrelated error: a real bug.
        while (await receive())["type"] != "http.disconnect":
            pass
        raise KeyError("bug-after-disconnect")
    await starlette_app(scope, receive, send)
