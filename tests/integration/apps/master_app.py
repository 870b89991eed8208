"""The app of the master tests (stdlib only and self-contained, so a test can copy it into a
temporary directory and break or change it there).

GET /pid            the worker's pid
GET /version        VERSION below (tests rewrite that line in a copy to tell code versions apart)
GET /uid            the worker's real and effective uid, "RUID EUID"
GET /cwd            the worker's working directory
GET /slow?s=SECS    sleeps, then answers "slow PID"
GET /abort          os.abort() (the worker dies from SIGABRT)
GET /spin?marker=F  writes the pid to F, then spins in pure Python forever (stuck event loop)
GET /hog?mib=N      keeps N MiB of touched memory for the life of the worker
anything else       "ok"

At import: appends "import PID" to $MASTER_IMPORT_LOG when set (shows where and how often the
module is imported), and raises when $MASTER_CRASH_FLAG names a file that exists (a worker
that keeps dying at boot).
"""
import asyncio
import os
from urllib.parse import parse_qs

VERSION = "original"

if os.environ.get("MASTER_IMPORT_LOG"):
    with open(os.environ["MASTER_IMPORT_LOG"], "a") as _log:
        _log.write(f"import {os.getpid()}\n")

if os.environ.get("MASTER_CRASH_FLAG") and os.path.exists(os.environ["MASTER_CRASH_FLAG"]):
    raise RuntimeError("master_app: crash flag present, refusing to import")

_hoard = []


def _query(scope):
    return {k: v[0] for k, v in parse_qs(scope["query_string"].decode("latin-1")).items()}


async def _answer(send, body, status=200):
    if isinstance(body, str):
        body = body.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def spin_forever_in_python(marker):
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    n = 0
    while True:
        n += 1


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    while True:  # the request body, if any
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            break
    path = scope["path"]
    q = _query(scope)
    if path == "/pid":
        await _answer(send, str(os.getpid()))
    elif path == "/version":
        await _answer(send, VERSION)
    elif path == "/uid":
        await _answer(send, f"{os.getuid()} {os.geteuid()}")
    elif path == "/cwd":
        await _answer(send, os.getcwd())
    elif path == "/slow":
        await asyncio.sleep(float(q.get("s", "1")))
        await _answer(send, f"slow {os.getpid()}")
    elif path == "/abort":
        os.abort()
    elif path == "/spin":
        spin_forever_in_python(q["marker"])
    elif path == "/hog":
        _hoard.append(b"\x01" * (int(q.get("mib", "100")) << 20))
        await _answer(send, f"hoarding {sum(len(b) for b in _hoard) >> 20} MiB")
    else:
        await _answer(send, "ok")
