"""App errors. The x-token request header makes each exception message unique so a test
can count its traceback in the error log.

  /ok                 200 "ok"
  /raise_before       raises before http.response.start
  /raise_after?cl=1   starts (chunked, or content-length 100 with cl=1), sends part, raises
  /no_response        returns without sending anything
  /body_before_start  sends http.response.body first
  /wrong_type         sends {"type": "http.response.bogus"}
  /bad_status         sends a start whose status is a str
"""
from asgi_util import lifespan_default, query, read_body, send_bytes


class AppBoom(Exception):
    pass


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan_default(receive, send)
    await read_body(receive)
    token = dict(scope["headers"]).get(b"x-token", b"none").decode()
    path = scope["path"]
    if path == "/ok":
        await send_bytes(send, b"ok")
    elif path == "/raise_before":
        raise AppBoom(f"boom-before-{token}")
    elif path == "/raise_after":
        headers = [(b"content-length", b"100")] if query(scope).get("cl") else []
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise AppBoom(f"boom-after-{token}")
    elif path == "/no_response":
        return
    elif path == "/body_before_start":
        await send({"type": "http.response.body", "body": b"too early"})
    elif path == "/wrong_type":
        await send({"type": "http.response.bogus"})
    elif path == "/bad_status":
        await send({"type": "http.response.start", "status": "200", "headers": []})
        await send({"type": "http.response.body", "body": b"x"})
