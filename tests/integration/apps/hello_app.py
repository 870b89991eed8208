"""Reads the whole request body, then answers 200 "hello"."""
from asgi_util import lifespan_default, read_body, send_bytes


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan_default(receive, send)
    await read_body(receive)
    await send_bytes(send, b"hello")
