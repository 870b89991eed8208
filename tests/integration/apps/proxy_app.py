"""Answers with who the request is from and for, as the scope says: client, scheme, server and
the Host header, as JSON."""
from asgi_util import lifespan_default, send_json


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan_default(receive, send)
    hosts = [v.decode("latin-1") for n, v in scope["headers"] if n == b"host"]
    await send_json(send, {
        "client": list(scope["client"]) if scope.get("client") else None,
        "scheme": scope["scheme"],
        "server": list(scope["server"]) if scope.get("server") else None,
        "host": hosts,
        "headers": sorted(n.decode("latin-1") for n, _ in scope["headers"]),
    })
