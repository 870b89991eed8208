"""Connection-layer scenarios (test_connection_timeouts.py). A `marker` query parameter names a
file the app appends its observations to, one line each.

  /upload    writes "started", sleeps `delay` seconds (default 0) before its first receive(),
             reads the body; answers JSON {len} when it is complete. A
             message other than http.request is written by type, then a send is tried and
             "send-ok" or "send-raised <ExceptionType>" written.
  /stream    answers `mb` MB (default 200) in 256 KB chunks without a length, writing
             "streaming" first; when a send raises, writes "send-raised <ExceptionType> after
             <bytes>" and re-raises it (`wrap=1`: raises RuntimeError from it, the way
             frameworks re-raise a disconnect as their own error); "completed" at the end.
  /big       answers `mb` MB (default 3) in one send, with a Content-Length.
  /sleep     writes "started", sleeps `s` seconds, then answers "slept" (a send that raises
             is written as "send-raised <ExceptionType>").
  anything else answers "ok".
"""
import asyncio

from asgi_util import append_line, lifespan_default, query, send_bytes, send_json

CHUNK = b"s" * (256 * 1024)


async def upload(receive, send, marker, delay: float):
    append_line(marker, "started")
    await asyncio.sleep(delay)
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            append_line(marker, message["type"])
            try:
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"too late"})
                append_line(marker, "send-ok")
            except Exception as e:
                append_line(marker, "send-raised " + type(e).__name__)
            return
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    await send_json(send, {"len": size})


async def stream(send, marker, megabytes: int, wrap: bool):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/octet-stream")]})
    append_line(marker, "streaming")
    sent = 0
    try:
        for _ in range(megabytes * 4):
            await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
            sent += len(CHUNK)
        await send({"type": "http.response.body", "body": b""})
    except Exception as e:
        append_line(marker, f"send-raised {type(e).__name__} after {sent}")
        if wrap:
            raise RuntimeError("stream aborted") from e
        raise
    append_line(marker, "completed")


async def sleep_then_answer(send, marker, seconds: float):
    append_line(marker, "started")
    await asyncio.sleep(seconds)
    try:
        await send_bytes(send, b"slept")
    except Exception as e:
        append_line(marker, "send-raised " + type(e).__name__)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan_default(receive, send)
    q = query(scope)
    path = scope["path"]
    marker = q.get("marker")
    if path == "/upload":
        await upload(receive, send, marker, float(q.get("delay", "0")))
    elif path == "/stream":
        await stream(send, marker, int(q.get("mb", "200")), q.get("wrap") == "1")
    elif path == "/big":
        await send_bytes(send, b"b" * (int(q.get("mb", "3")) << 20))
    elif path == "/sleep":
        await sleep_then_answer(send, marker, float(q.get("s", "1")))
    else:
        await send_bytes(send, b"ok")
