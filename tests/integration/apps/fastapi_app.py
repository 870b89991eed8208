"""A small FastAPI app with the same routes as starlette_app."""
import asyncio

from fastapi import BackgroundTasks, FastAPI
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel

app = FastAPI()


class Payload(BaseModel):
    name: str
    items: list[int] = []


@app.get("/", response_class=PlainTextResponse)
async def home():
    return "fastapi home"


@app.get("/items/{item_id}")
async def item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


@app.post("/echo")
async def echo(payload: Payload):
    return {"received": payload.model_dump(), "count": len(payload.items)}


@app.get("/stream")
async def stream():
    async def gen():
        for i in range(5):
            await asyncio.sleep(0.01)
            yield f"chunk{i}\n".encode()
    return StreamingResponse(gen(), media_type="text/plain")


def write_marker(path: str, text: str):
    with open(path, "w") as f:
        f.write(text)


@app.get("/background", response_class=PlainTextResponse)
async def background(marker: str, tasks: BackgroundTasks):
    tasks.add_task(write_marker, marker, "background done")
    return "scheduled"
