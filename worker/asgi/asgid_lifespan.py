"""The ASGI lifespan protocol driver (worker/asgi/lifespan.cc). Compiled into the binary;
`_log(level, message)` is provided by the native side before this module runs (levels: 10
debug, 20 info, 30 warning, 40 error)."""

import asyncio
import traceback


class Lifespan:
    """ASGI lifespan (spec 2.0): the app's lifespan call runs in a task for the worker's whole
    life; startup and shutdown are messages on a queue."""

    def __init__(self, app, mode, state):
        self.app = app
        self.mode = mode  # "auto" or "on"
        self.state = state
        self.queue = asyncio.Queue()
        self.startup_done = asyncio.Event()
        self.shutdown_done = asyncio.Event()
        self.failure = None  # the message of a failed startup/shutdown
        self.error = None  # the app raised
        self.finished = False
        self.task = None

    async def startup(self):
        """Returns None when the app is ready, else the message to exit with."""
        self.task = asyncio.get_running_loop().create_task(self._main())
        await self.queue.put({"type": "lifespan.startup"})
        await self.startup_done.wait()
        if self.failure is not None:
            return self.failure
        if self.error is not None and self.mode == "on":
            return self.error
        return None

    async def shutdown(self):
        if self.finished:
            return
        await self.queue.put({"type": "lifespan.shutdown"})
        await self.shutdown_done.wait()
        if self.task is not None:
            await asyncio.wait([self.task], timeout=1)

    async def _main(self):
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self.app(scope, self.receive, self.send)
        except BaseException as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            if self.mode == "auto" and not self.startup_done.is_set():
                _log(20, "ASGI 'lifespan' protocol appears unsupported.")
            else:
                _log(40, "Exception in 'lifespan' protocol\n" + "".join(
                    traceback.format_exception(exc)).rstrip())
        finally:
            self.finished = True
            self.startup_done.set()
            self.shutdown_done.set()

    async def receive(self):
        return await self.queue.get()

    async def send(self, message):
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "lifespan.startup.complete" and not self.startup_done.is_set():
            self.startup_done.set()
        elif kind == "lifespan.startup.failed" and not self.startup_done.is_set():
            self.failure = message.get("message") or "lifespan startup failed"
            self.startup_done.set()
        elif kind == "lifespan.shutdown.complete" and self.startup_done.is_set():
            self.shutdown_done.set()
        elif kind == "lifespan.shutdown.failed" and self.startup_done.is_set():
            _log(40, "lifespan shutdown failed: " + str(message.get("message") or ""))
            self.shutdown_done.set()
        else:
            raise RuntimeError(f"Unexpected ASGI lifespan message {kind!r}")
