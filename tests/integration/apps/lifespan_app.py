"""Lifespan behaviour driven by the environment:
  LIFESPAN_MODE = ok | fail_message | raise | hang
  LIFESPAN_TOKEN   text put into the failure message
  TEST_MARKER_FILE file where the app records lifespan events
On startup (ok) it records the lifespan scope and sets state["db"]; requests answer JSON with
scope["state"]; shutdown records "shutdown"."""
import asyncio
import json
import os

from asgi_util import append_line, send_json

MODE = os.environ.get("LIFESPAN_MODE", "ok")
TOKEN = os.environ.get("LIFESPAN_TOKEN", "")
MARKER = os.environ.get("TEST_MARKER_FILE")


def record(line):
    if MARKER:
        append_line(MARKER, line)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        record("lifespan-called " + json.dumps({
            "asgi": scope.get("asgi"), "has_state": isinstance(scope.get("state"), dict)}))
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if MODE == "fail_message":
                    await send({"type": "lifespan.startup.failed",
                                "message": f"database unreachable {TOKEN}"})
                    return
                if MODE == "hang":
                    record("hanging")
                    await asyncio.Event().wait()
                if MODE == "raise":
                    raise RuntimeError(f"kaboom {TOKEN}")
                scope["state"]["db"] = "connected"
                scope["state"]["pool"] = {"size": 3}
                record("startup")
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                record("shutdown")
                await send({"type": "lifespan.shutdown.complete"})
                return
    state = scope.get("state") or {}
    await send_json(send, {"db": state.get("db"), "pool": state.get("pool")})
