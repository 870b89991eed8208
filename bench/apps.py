"""Benchmark applications: plain ASGI 3, no framework, shared by every server under test.

Targets (run with the working directory set to bench/):
  apps:hello  GET /  -> 200 text/plain "Hello, world!"
  apps:json   GET /  -> 200 application/json, a small dict serialised with json.dumps
  apps:echo   POST / -> 200 application/octet-stream, the request body sent back
  apps:ws_echo  WebSocket: every message sent back as it came (GET / answers as hello)

Every app also answers GET /_info with a JSON description of the process serving it (event
loop class, the Python modules on the call stack of the app, pid). bench/run.py uses it to
prove which loop and HTTP implementation really served the requests. The check costs one
string comparison per request, the same for every server.
"""

import asyncio
import json as _json
import os
import sys

_HELLO_BODY = b"Hello, world!"
_HELLO_LENGTH = str(len(_HELLO_BODY)).encode()

_JSON_CONTENT_TYPE = (b"content-type", b"application/json")


async def _lifespan(receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _info(send):
    modules = []
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "?")
        if not modules or modules[-1] != name:
            modules.append(name)
        frame = frame.f_back
    try:
        loop = asyncio.get_running_loop()
        loop_class = f"{type(loop).__module__}.{type(loop).__qualname__}"
    except RuntimeError:
        loop_class = None
    try:
        task = asyncio.current_task()
        task_class = None if task is None else f"{type(task).__module__}.{type(task).__qualname__}"
    except RuntimeError:
        task_class = None
    body = _json.dumps(
        {
            "pid": os.getpid(),
            "loop": loop_class,
            "task": task_class,
            "stack_modules": modules,
            "python": sys.version.split()[0],
            "executable": sys.executable,
            "prefix": sys.prefix,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [_JSON_CONTENT_TYPE, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def hello(scope, receive, send):
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        return
    if scope["path"] == "/_info":
        await _info(send)
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", _HELLO_LENGTH)],
        }
    )
    await send({"type": "http.response.body", "body": _HELLO_BODY})


async def json(scope, receive, send):
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        return
    if scope["path"] == "/_info":
        await _info(send)
        return
    body = _json.dumps({"message": "Hello, world!", "id": 42, "ok": True}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [_JSON_CONTENT_TYPE, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def echo(scope, receive, send):
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        return
    if scope["path"] == "/_info":
        await _info(send)
        return
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            return
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/octet-stream"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def ws_echo(scope, receive, send):
    """WebSocket echo (bench/ws_echo.py): accepts, then sends every message back as it came.
    The text message "_info" is answered with the /_info description instead, from inside the
    WebSocket connection, so the harness can prove which WebSocket implementation served it.
    HTTP requests get the other apps' /_info and hello answers."""
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.receive":
                text = message.get("text")
                if text == "_info":
                    info = {}

                    async def capture(m):
                        if m["type"] == "http.response.body":
                            info["body"] = m["body"]

                    await _info(capture)
                    await send({"type": "websocket.send", "text": info["body"].decode()})
                elif text is not None:
                    await send({"type": "websocket.send", "text": text})
                else:
                    await send({"type": "websocket.send", "bytes": message["bytes"]})
            else:  # websocket.disconnect
                return
    await hello(scope, receive, send)
