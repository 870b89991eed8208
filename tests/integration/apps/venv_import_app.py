"""Imports the venv-only package at import time."""
import tomli  # noqa: F401

from asgi_util import lifespan_default, send_bytes


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan_default(receive, send)
    await send_bytes(send, b"imported")
