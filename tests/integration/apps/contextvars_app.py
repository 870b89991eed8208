"""What a request sees of context variables set by the lifespan and by earlier requests
(uvicorn's --reset-contextvars is about both).

GET /  "LIFESPAN|REQUEST": LIFESPAN is what lifespan startup set as this request sees it (or
       "unset"), REQUEST what an earlier request set (or "unset"); then this request sets the
       request variable.
"""
import contextvars

lifespan_var = contextvars.ContextVar("lifespan_var", default="unset")
request_var = contextvars.ContextVar("request_var", default="unset")


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                lifespan_var.set("set-in-lifespan")
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = f"{lifespan_var.get()}|{request_var.get()}".encode()
    request_var.set("set-by-a-request")
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
