"""Answers with the request scope as JSON (bytes as latin-1 strings, types checked here).
Lifespan puts a value and a shared list into the state; each request reports what it sees,
then sets a key in its copy and appends to the list, so tests can see that every request
gets a shallow copy."""

from asgi_util import read_body, send_json


def b2s(value):
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else value


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["state"]["db"] = "connected"
                scope["state"]["shared"] = []
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = await read_body(receive)
    state = scope.get("state")
    state_view = None
    if state is not None:
        # Shallow copy: a key set by an earlier request must not be here; the list inside is
        # the same object for everyone.
        state_view = {"keys": sorted(state), "leaked": state.get("mutated"),
                      "shared_len": len(state["shared"]) if "shared" in state else None}
        state["mutated"] = "yes"
        if "shared" in state:
            state["shared"].append(1)
    headers = scope["headers"]
    types_ok = {
        "headers": all(isinstance(n, bytes) and isinstance(v, bytes) for n, v in headers),
        "raw_path": isinstance(scope.get("raw_path"), bytes),
        "query_string": isinstance(scope["query_string"], bytes),
        "path": isinstance(scope["path"], str),
        "client": scope.get("client") is None or (
            isinstance(scope["client"][0], str) and isinstance(scope["client"][1], int)),
        "server": scope.get("server") is None or isinstance(scope["server"][0], str),
    }
    await send_json(send, {
        "type": scope["type"],
        "asgi": scope["asgi"],
        "http_version": scope["http_version"],
        "method": scope["method"],
        "scheme": scope.get("scheme"),
        "path": scope["path"],
        "raw_path": b2s(scope.get("raw_path")),
        "query_string": b2s(scope["query_string"]),
        "root_path": scope.get("root_path"),
        "headers": [[b2s(n), b2s(v)] for n, v in headers],
        "client": list(scope["client"]) if scope.get("client") else None,
        "server": list(scope["server"]) if scope.get("server") else None,
        "state": state_view,
        "body_len": len(body),
        "types_ok": types_ok,
        "extensions": sorted((scope.get("extensions") or {}).keys()),
    })
