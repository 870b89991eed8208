"""Logs through Python's logging: GET /<level> logs one record at that level from the logger
"logapp.views"; /exception logs a caught ZeroDivisionError with its traceback; /print prints to
stdout and stderr; /headers answers the request's x-request-id (or "none")."""
import logging
import sys

from asgi_util import lifespan_default, read_body, send_bytes

log = logging.getLogger("logapp.views")
logging.getLogger("logapp").info("imported logging_app")


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan_default(receive, send)
    await read_body(receive)
    path = scope["path"].strip("/")
    if path in ("debug", "info", "warning", "error", "critical"):
        getattr(log, path)("a %s record from %s", path, scope["path"])
    elif path == "exception":
        try:
            1 / 0
        except ZeroDivisionError:
            log.exception("division failed")
    elif path == "print":
        print("printed to stdout")
        print("printed to stderr", file=sys.stderr)
    elif path == "headers":
        ids = [v for k, v in scope["headers"] if k == b"x-request-id"]
        await send_bytes(send, b",".join(ids) or b"none")
        return
    await send_bytes(send, b"ok")
