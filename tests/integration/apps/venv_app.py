"""Reports whether the venv-only package `tomli` can be imported, and sys.prefix."""
import sys

from asgi_util import lifespan_default, send_json


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan_default(receive, send)
    try:
        import tomli
        found = {"file": tomli.__file__, "ok": tomli.loads("a = 1") == {"a": 1}}
    except ModuleNotFoundError as e:
        found = {"missing": e.name}
    await send_json(send, {"tomli": found, "prefix": sys.prefix})
