"""WebSocket echo app for the Autobahn|Testsuite run (scripts/autobahn.sh).

Plain ASGI, no framework, so that every result is about the server: accept, send each text
or binary message back as the same type, stop at disconnect. Other HTTP requests get 404.
"""


async def app(scope, receive, send):
    if scope["type"] == "websocket":
        await echo(receive, send)
    elif scope["type"] == "http":
        await not_found(send)
    elif scope["type"] == "lifespan":
        await lifespan(receive, send)


async def echo(receive, send):
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif kind == "websocket.receive":
            # ASGI spec, websocket.receive: exactly one of bytes/text is non-None; echo the
            # same frame type (Autobahn checks it).
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message["bytes"]})
        elif kind == "websocket.disconnect":
            return


async def not_found(send):
    body = b"WebSocket echo endpoint\n"
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def lifespan(receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
