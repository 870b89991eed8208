"""Raw ASGI WebSocket endpoints for test_websocket_*.py, one path per scenario. Endpoints that
take `marker=PATH` append what the app saw to that file, one line per event, so a test can
check the app's side of a connection the same way with any server."""
import asyncio
import json
import os
import time

from asgi_util import append_line, query, send_bytes

LIFESPAN_TOKEN = "from-lifespan"


async def lifespan(scope, receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if "state" in scope:
                scope["state"]["token"] = LIFESPAN_TOKEN
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def note(q, line: str):
    if "marker" in q:
        append_line(q["marker"], line)


def jsonable(value):
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


async def accept(send, subprotocol=None, headers=()):
    message = {"type": "websocket.accept", "headers": list(headers)}
    if subprotocol is not None:
        message["subprotocol"] = subprotocol
    await send(message)


async def expect_connect(receive):
    message = await receive()
    assert message["type"] == "websocket.connect", message


async def echo_until_disconnect(receive, send, q) -> dict:
    """Echoes text as text and bytes as bytes; returns the disconnect message."""
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            note(q, f"disconnect {message.get('code')} {message.get('reason') or ''}".rstrip())
            return message
        note(q, f"received {'text' if message.get('text') is not None else 'bytes'}")
        if message.get("text") == "close-please":
            await send({"type": "websocket.close", "code": 4002, "reason": "as asked"})
            continue  # the client's answer comes as the disconnect
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


async def send_after_disconnect(send, q):
    """ASGI spec 2.4: send after the client left raises an OSError subclass."""
    try:
        await send({"type": "websocket.send", "text": "too late"})
    except Exception as e:  # noqa: BLE001 - the type is what the test checks
        note(q, f"send-raised {type(e).__name__} oserror={isinstance(e, OSError)}")
    else:
        note(q, "send-ok")


async def echo(scope, receive, send, q):
    await expect_connect(receive)
    await accept(send)
    note(q, "accepted")
    await echo_until_disconnect(receive, send, q)
    await send_after_disconnect(send, q)


async def scope_view(scope, receive, send, q):
    await expect_connect(receive)
    await accept(send)
    view = {k: jsonable(v) for k, v in scope.items() if k not in ("app", "state", "extensions")}
    view["state_token"] = scope.get("state", {}).get("token")
    view["extensions"] = sorted((scope.get("extensions") or {}).keys())
    view["types"] = {
        "raw_path": type(scope.get("raw_path")).__name__,
        "query_string": type(scope.get("query_string")).__name__,
        "headers": sorted({f"{type(k).__name__}/{type(v).__name__}"
                           for k, v in scope.get("headers", [])}),
    }
    await send({"type": "websocket.send", "text": json.dumps(view)})
    await send({"type": "websocket.close", "code": 1000})


async def accept_extras(scope, receive, send, q):
    """Picks the subprotocol named by ?pick= (when the client offered it) and adds headers."""
    await expect_connect(receive)
    pick = q.get("pick")
    chosen = pick if pick in scope.get("subprotocols", []) else None
    await accept(send, chosen, [(b"x-extra", b"yes"), (b"set-cookie", b"session=1")])
    await send({"type": "websocket.send", "text": json.dumps(scope.get("subprotocols"))})
    await echo_until_disconnect(receive, send, q)


async def close_before_accept(scope, receive, send, q):
    await expect_connect(receive)
    await send({"type": "websocket.close", "code": 1000})


async def deny(scope, receive, send, q):
    await expect_connect(receive)
    await send({"type": "websocket.http.response.start", "status": 401,
                "headers": [(b"content-type", b"text/plain"), (b"x-denied", b"yes")]})
    if q.get("parts") == "1":
        await send({"type": "websocket.http.response.body", "body": b"whole"})
        return
    await send({"type": "websocket.http.response.body", "body": b"part1-", "more_body": True})
    await asyncio.sleep(0.05)
    await send({"type": "websocket.http.response.body", "body": b"part2", "more_body": False})


async def close_with(scope, receive, send, q):
    await expect_connect(receive)
    await accept(send)
    await send({"type": "websocket.send", "text": "before-close"})
    message = {"type": "websocket.close", "code": int(q.get("code", "1000"))}
    if "reason" in q:
        message["reason"] = q["reason"]
    await send(message)
    note(q, "closed")
    message = await receive()  # the client's answer to our close
    note(q, f"{message['type']} {message.get('code')}")


async def error_before_accept(scope, receive, send, q):
    await expect_connect(receive)
    raise RuntimeError("ws-error-before-accept")


async def error_after_accept(scope, receive, send, q):
    await expect_connect(receive)
    await accept(send)
    await send({"type": "websocket.send", "text": "accepted"})
    raise RuntimeError("ws-error-after-accept")


async def send_before_accept(scope, receive, send, q):
    await expect_connect(receive)
    await send({"type": "websocket.send", "text": "not accepted yet"})


async def http_message_after_accept(scope, receive, send, q):
    await expect_connect(receive)
    await accept(send)
    await send({"type": "http.response.start", "status": 200, "headers": []})


async def slow_receiver(scope, receive, send, q):
    """Does not receive until the file ?go= exists (30 s at most), then counts messages up to
    a text "end"."""
    await expect_connect(receive)
    await accept(send)
    note(q, "accepted")
    deadline = time.monotonic() + 30
    while not os.path.exists(q["go"]) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    count = 0
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            note(q, f"disconnect {message.get('code')} after {count}")
            return
        if message.get("text") == "end":
            break
        count += 1
    note(q, f"received {count}")
    await send({"type": "websocket.send", "text": f"received {count}"})
    await send({"type": "websocket.close", "code": 1000})


async def flood(scope, receive, send, q):
    """Sends ?count= binary messages of ?size= bytes, noting each completed send."""
    await expect_connect(receive)
    await accept(send)
    size, count = int(q.get("size", "65536")), int(q.get("count", "1000"))
    payload = b"f" * size
    with open(q["marker"], "a", buffering=1) as f:
        f.write("accepted\n")
        try:
            for i in range(count):
                await send({"type": "websocket.send", "bytes": payload})
                f.write(f"sent {i + 1}\n")
        except Exception as e:  # noqa: BLE001 - the test reads what happened
            f.write(f"send-raised {type(e).__name__} oserror={isinstance(e, OSError)}\n")
            return
        f.write("completed\n")
    await send({"type": "websocket.close", "code": 1000})


async def hoard(scope, receive, send, q):
    """Keeps every binary message until the text "done", then sends them all back in order:
    each message the app was given must stay its own, unchanged by what came after."""
    await expect_connect(receive)
    await accept(send)
    kept = []
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") == "done":
            break
        assert type(message["bytes"]) is bytes, type(message["bytes"])
        kept.append(message["bytes"])
    for data in kept:
        await send({"type": "websocket.send", "bytes": data})
    await send({"type": "websocket.close", "code": 1000})


ROUTES = {
    "/echo": echo,
    "/hoard": hoard,
    "/scope": scope_view,
    "/extras": accept_extras,
    "/close-before-accept": close_before_accept,
    "/deny": deny,
    "/close": close_with,
    "/error-before-accept": error_before_accept,
    "/error-after-accept": error_after_accept,
    "/send-before-accept": send_before_accept,
    "/http-message-after-accept": http_message_after_accept,
    "/slow-receiver": slow_receiver,
    "/flood": flood,
}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
        return
    if scope["type"] == "http":
        upgrade = dict(scope["headers"]).get(b"upgrade", b"").decode()
        await send_bytes(send, f"http {scope['path']} upgrade={upgrade}".encode())
        return
    path, root = scope["path"], scope.get("root_path", "")
    if root and path.startswith(root):  # servers differ on whether path carries root_path
        path = path[len(root):]
    await ROUTES.get(path, echo)(scope, receive, send, query(scope))
