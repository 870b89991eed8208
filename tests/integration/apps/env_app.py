"""The env-file tests' app: what the worker's os.environ holds.

GET /env?name=X   os.environ[X], or "<unset>"
GET /pid          the worker's pid
"""
import os
from urllib.parse import parse_qs


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode("latin-1")).items()}
    if scope["path"] == "/pid":
        body = str(os.getpid())
    else:
        body = os.environ.get(query.get("name", ""), "<unset>")
    data = body.encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
