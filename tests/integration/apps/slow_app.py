"""/slow?s=SECONDS&marker=PATH writes "started" to marker, sleeps, answers "slow done" and
appends "response-done". /forever never answers. Anything else answers "fast".
Lifespan shutdown appends "shutdown" to $TEST_MARKER_FILE when set."""
import asyncio
import os

from asgi_util import append_line, query, send_bytes


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if os.environ.get("TEST_MARKER_FILE"):
                    append_line(os.environ["TEST_MARKER_FILE"], "shutdown")
                await send({"type": "lifespan.shutdown.complete"})
                return
    q = query(scope)
    if scope["path"] == "/slow":
        if "marker" in q:
            append_line(q["marker"], "started")
        await asyncio.sleep(float(q.get("s", "1")))
        await send_bytes(send, b"slow done " + b"x" * 100000)
        if "marker" in q:
            append_line(q["marker"], "response-done")
    elif scope["path"] == "/forever":
        if "marker" in q:
            append_line(q["marker"], "started")
        await asyncio.Event().wait()
    else:
        await send_bytes(send, b"fast")
