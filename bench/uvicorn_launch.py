"""Runs uvicorn's own command line unchanged, and proves which loop and HTTP parser it uses.

Usage: python bench/uvicorn_launch.py [uvicorn options] module:app

After uvicorn's startup (listening sockets created), prints one line to stderr:
  BENCH-PROOF {"loop": ..., "http_protocol_class": ..., "uvloop": true, "httptools": true}
and exits with status 3 if the running loop is not uvloop's or the protocol is not httptools'
one, so a benchmark can never silently measure the slow pure-Python path.
"""

import asyncio
import json
import sys

import uvicorn.main
import uvicorn.server

_original_startup = uvicorn.server.Server.startup


async def _startup_with_proof(self, sockets=None):
    await _original_startup(self, sockets=sockets)
    loop = asyncio.get_running_loop()
    protocol = self.config.http_protocol_class
    loop_name = f"{type(loop).__module__}.{type(loop).__qualname__}"
    protocol_name = f"{protocol.__module__}.{protocol.__qualname__}"
    proof = {
        "loop": loop_name,
        "http_protocol_class": protocol_name,
        "uvloop": type(loop).__module__.startswith("uvloop"),
        "httptools": protocol.__module__ == "uvicorn.protocols.http.httptools_impl",
    }
    print("BENCH-PROOF " + json.dumps(proof), file=sys.stderr, flush=True)
    if not (proof["uvloop"] and proof["httptools"]):
        print("uvicorn is not running uvloop + httptools; refusing to benchmark", file=sys.stderr, flush=True)
        sys.exit(3)


uvicorn.server.Server.startup = _startup_with_proof

if __name__ == "__main__":
    sys.exit(uvicorn.main.main())
