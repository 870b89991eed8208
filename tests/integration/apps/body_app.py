"""Request bodies: echo statistics, ignore the body, 100-continue, disconnects.

Routes (a `marker` query parameter names a file the app appends its observations to):
  /echo          reads the body; answers JSON {len, sha256, chunks, last_more_body}
  /ignore        sleeps `sleep` seconds without reading, then answers "ignored"
  /early         answers "early" at once without reading the body
  /expect        sleeps `delay` seconds, writes "receive" to marker, then echoes the body
  /wait_disconnect  writes "started", then receives until a message other than http.request
                 and writes its type, then tries to send and writes what happened
  /after_response   answers, then calls receive() and writes what it got and how long it took
"""
import asyncio
import hashlib
import time

from asgi_util import append_line, lifespan_default, query, read_body, send_bytes, send_json


async def echo(receive, send):
    digest = hashlib.sha256()
    size = chunks = 0
    last_more_body = None
    while True:
        message = await receive()
        assert message["type"] == "http.request", message
        body = message.get("body", b"")
        digest.update(body)
        size += len(body)
        chunks += 1 if body else 0
        last_more_body = message.get("more_body", False)
        if not last_more_body:
            break
    await send_json(send, {"len": size, "sha256": digest.hexdigest(), "chunks": chunks,
                           "last_more_body": last_more_body})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan_default(receive, send)
    q = query(scope)
    path = scope["path"]
    marker = q.get("marker")
    if path == "/echo":
        await echo(receive, send)
    elif path == "/ignore":
        await asyncio.sleep(float(q.get("sleep", "1")))
        await send_bytes(send, b"ignored")
    elif path == "/early":
        await send_bytes(send, b"early")
    elif path == "/expect":
        await asyncio.sleep(float(q.get("delay", "1")))
        if marker:
            append_line(marker, "receive")
        body = await read_body(receive)
        await send_bytes(send, b"got:" + body)
    elif path == "/wait_disconnect":
        append_line(marker, "started")
        for _ in range(1000):
            message = await receive()
            if message["type"] != "http.request":
                append_line(marker, message["type"])
                break
        # ASGI 2.4: send() on a closed connection raises a subclass of OSError.
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"too late"})
            append_line(marker, "send-ok")
        except OSError:
            append_line(marker, "send-oserror")
        except Exception as e:
            append_line(marker, "send-" + type(e).__name__)
    elif path == "/after_response":
        await read_body(receive)
        await send_bytes(send, b"done")
        t0 = time.monotonic()
        try:
            message = await asyncio.wait_for(receive(), 5)
            what = message["type"]
        except asyncio.TimeoutError:
            what = "timeout"
        append_line(marker, f"{what} {time.monotonic() - t0:.3f}")
    else:
        await send_bytes(send, b"not found", 404)
