"""Response framing.

  /cl            content-length 5, "hello"
  /chunked       no content-length, three body messages with more_body
  /status?code=N&body=B  that status, body B (default empty) that must not be sent
  /overlong      says content-length 5, sends "hello" then " world"
  /short         says content-length 10, sends 5 bytes and finishes
  /inject?where=value|name|lf   a header with CR/LF in it
  /cookies       two set-cookie headers
  /big?n=BYTES   a body of n bytes (content-length)
  /bigchunked?n=PIECES  n pieces of 64 KiB without content-length
  /flood?mb=N    N MiB in 1 MiB body messages without content-length (chunked)
  /own_headers   sets its own server and date headers
  /client        the client port (to prove a connection was reused)
  /sleep?ms=N    answers "slept N" after N ms
  /echo_i?i=N    answers "i=N"
"""
import asyncio

from asgi_util import lifespan_default, query, read_body, send_bytes, send_json

INJECTIONS = {
    "value": (b"x-ok", b"fine\r\nX-Injected: yes"),
    "name": (b"x-bad\r\nX-Injected: yes", b"v"),
    "lf": (b"x-ok", b"fine\nX-Injected: yes"),
    "cr": (b"x-ok", b"fine\rX-Injected: yes"),
}


def pattern(n: int) -> bytes:
    block = bytes(range(256)) * 256
    return (block * (n // len(block) + 1))[:n]


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan_default(receive, send)
    q = query(scope)
    path = scope["path"]
    await read_body(receive)
    start = {"type": "http.response.start", "status": 200, "headers": []}
    if path == "/cl":
        await send_bytes(send, b"hello")
    elif path == "/chunked":
        await send(start)
        for part in (b"abc", b"", b"defgh"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"ij", "more_body": False})
    elif path == "/status":
        await send({"type": "http.response.start", "status": int(q["code"]), "headers": []})
        try:
            await send({"type": "http.response.body", "body": q.get("body", "").encode()})
        except Exception:  # a server may refuse a body here; it must not send it
            pass
    elif path == "/overlong":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"5")]})
        await send({"type": "http.response.body", "body": b"hello", "more_body": True})
        try:
            await send({"type": "http.response.body", "body": b" world"})
        except Exception:  # the server may refuse the extra bytes; it must not send them
            pass
    elif path == "/short":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"10")]})
        await send({"type": "http.response.body", "body": b"12345"})
    elif path == "/inject":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [INJECTIONS[q["where"]], (b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})
    elif path == "/cookies":
        await send_bytes(send, b"c", headers=[(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")])
    elif path == "/big":
        await send_bytes(send, pattern(int(q["n"])), content_type=b"application/octet-stream")
    elif path == "/bigchunked":
        await send(start)
        piece = pattern(65536)
        for _ in range(int(q["n"])):
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/flood":
        await send(start)
        piece = b"z" * (1 << 20)
        for _ in range(int(q["mb"])):
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/own_headers":
        await send_bytes(send, b"own", headers=[(b"server", b"myapp/1.0"),
                                                (b"date", b"Thu, 01 Jan 2015 00:00:00 GMT")])
    elif path == "/client":
        await send_json(send, {"client_port": scope["client"][1]})
    elif path == "/sleep":
        await asyncio.sleep(int(q["ms"]) / 1000)
        await send_bytes(send, f"slept {q['ms']}".encode())
    elif path == "/echo_i":
        await send_bytes(send, f"i={q['i']}".encode())
    else:
        await send_bytes(send, b"not found", 404)
