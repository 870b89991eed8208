"""Small helpers shared by the test apps (stdlib only: the apps also run without a venv)."""
import json
from urllib.parse import parse_qs


def query(scope) -> dict:
    """The query string as a dict of first values."""
    return {k: v[0] for k, v in parse_qs(scope["query_string"].decode("latin-1")).items()}


async def read_body(receive) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return bytes(body)
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return bytes(body)


async def send_bytes(send, body: bytes, status: int = 200, content_type=b"text/plain",
                     headers=()):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


async def send_json(send, obj, status: int = 200):
    await send_bytes(send, json.dumps(obj).encode(), status, b"application/json")


def append_line(path: str, line: str):
    with open(path, "a") as f:
        f.write(line + "\n")


async def lifespan_default(receive, send):
    """Acknowledges startup and shutdown, nothing else."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
