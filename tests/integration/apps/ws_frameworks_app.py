"""WebSocket endpoints the way framework users write them: Starlette (`starlette_app`) and
FastAPI (`fastapi_app`), echo and a denial response."""
from fastapi import FastAPI, WebSocket as FastAPIWebSocket, WebSocketDisconnect
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket


async def starlette_echo(websocket: WebSocket):
    await websocket.accept(subprotocol=(websocket.scope["subprotocols"] or [None])[0])
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await websocket.send_text("starlette:" + message["text"])
            else:
                await websocket.send_bytes(message["bytes"])
    except WebSocketDisconnect:
        return


async def starlette_deny(websocket: WebSocket):
    await websocket.send_denial_response(
        PlainTextResponse("go away", status_code=403, headers={"x-why": "denied"}))


starlette_app = Starlette(routes=[WebSocketRoute("/echo", starlette_echo),
                                  WebSocketRoute("/deny", starlette_deny)])

fastapi_app = FastAPI()


@fastapi_app.websocket("/items/{item_id}")
async def fastapi_items(websocket: FastAPIWebSocket, item_id: int, prefix: str = ">"):
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_json({"item": item_id, "echo": prefix + text})
    except WebSocketDisconnect as e:
        if e.code != 1000:
            raise
