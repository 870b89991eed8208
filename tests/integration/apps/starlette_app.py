"""A small Starlette app: path params, JSON POST, streaming, a background task, 404."""
import asyncio

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route


async def home(request):
    return PlainTextResponse("starlette home")


async def item(request):
    return JSONResponse({"item_id": request.path_params["item_id"],
                         "q": request.query_params.get("q")})


async def echo(request):
    data = await request.json()
    return JSONResponse({"received": data, "count": len(data.get("items", []))})


async def stream(request):
    async def gen():
        for i in range(5):
            await asyncio.sleep(0.01)
            yield f"chunk{i}\n".encode()
    return StreamingResponse(gen(), media_type="text/plain")


def write_marker(path, text):
    with open(path, "w") as f:
        f.write(text)


async def background(request):
    task = BackgroundTask(write_marker, request.query_params["marker"], "background done")
    return PlainTextResponse("scheduled", background=task)


app = Starlette(routes=[
    Route("/", home),
    Route("/items/{item_id:int}", item),
    Route("/echo", echo, methods=["POST"]),
    Route("/stream", stream),
    Route("/background", background),
])
