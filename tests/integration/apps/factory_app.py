"""--factory: create_app() returns the ASGI app."""
from asgi_util import lifespan_default, send_bytes


def create_app():
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await lifespan_default(receive, send)
        await send_bytes(send, b"from factory")
    return app
