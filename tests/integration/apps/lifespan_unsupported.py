"""An app that knows only HTTP: it raises on any other scope type."""
from asgi_util import send_bytes


async def app(scope, receive, send):
    if scope["type"] != "http":
        raise ValueError(f"unsupported scope type {scope['type']}")
    await send_bytes(send, b"served anyway")
