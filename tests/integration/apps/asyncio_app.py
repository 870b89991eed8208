"""Real asyncio inside handlers; each route answers JSON for the test to check."""
import asyncio
import contextvars
import os
import signal
import threading
import time

from asgi_util import lifespan_default, query, read_body, send_json

request_id = contextvars.ContextVar("request_id", default=None)


async def r_sleep(scope):
    t0 = time.monotonic()
    await asyncio.sleep(0.05)
    return {"elapsed": time.monotonic() - t0}


async def r_gather(scope):
    async def work(n):
        await asyncio.sleep(0.01 * n)
        return n * n
    tasks = [asyncio.create_task(work(n)) for n in (3, 1, 2)]
    return {"results": await asyncio.gather(*tasks)}


async def r_timeout(scope):
    out = {}
    try:
        async with asyncio.timeout(0.05):
            await asyncio.sleep(10)
        out["timeout"] = False
    except TimeoutError:
        out["timeout"] = True
    try:
        await asyncio.wait_for(asyncio.sleep(10), 0.05)
        out["wait_for"] = False
    except TimeoutError:
        out["wait_for"] = True
    return out


async def r_taskgroup(scope):
    async def work(n):
        await asyncio.sleep(0.01)
        return n + 100
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(work(n)) for n in range(3)]
    caught = None
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(asyncio.sleep(10))
            tg.create_task(_fail())
    except* ValueError as eg:
        caught = str(eg.exceptions[0])
    return {"results": [t.result() for t in tasks], "caught": caught}


async def _fail():
    await asyncio.sleep(0.01)
    raise ValueError("in group")


async def r_current_task(scope):
    task = asyncio.current_task()
    return {"task": task is not None, "running_loop": asyncio.get_running_loop() is not None,
            "done": task.done() if task else None}


async def r_contextvar(scope):
    q = query(scope)
    before = request_id.get()
    request_id.set(q["id"])
    await asyncio.sleep(float(q.get("sleep", "0.2")))
    # A task created here inherits the request's context.
    child = await asyncio.create_task(_read_var())
    return {"before": before, "after": request_id.get(), "child": child}


async def _read_var():
    return request_id.get()


async def r_executor(scope):
    loop = asyncio.get_running_loop()
    main_thread = threading.get_ident()

    def blocking():
        time.sleep(0.05)
        return threading.get_ident()

    worker = await loop.run_in_executor(None, blocking)
    return {"value_ok": worker != main_thread}


async def r_server_roundtrip(scope):
    async def handle(reader, writer):
        line = await reader.readline()
        writer.write(line.upper())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"ping\n")
        await writer.drain()
        reply = await asyncio.wait_for(reader.readline(), 5)
        writer.close()
        await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()
    return {"reply": reply.decode()}


async def r_httpx_self(scope):
    import httpx
    host, port = scope["server"]
    async with httpx.AsyncClient(timeout=5) as client:
        r = await client.get(f"http://{host}:{port}/gather")
    return {"status": r.status_code, "json": r.json()}


async def r_threadsafe(scope):
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def from_thread():
        time.sleep(0.05)
        loop.call_soon_threadsafe(fut.set_result, 42)

    threading.Thread(target=from_thread).start()
    t0 = time.monotonic()
    value = await asyncio.wait_for(fut, 5)
    return {"value": value, "elapsed": time.monotonic() - t0}


async def r_subprocess(scope):
    proc = await asyncio.create_subprocess_exec("echo", "hello", "world",
                                                stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), 10)
    fail = await asyncio.create_subprocess_exec("sh", "-c", "exit 7")
    fail_rc = await asyncio.wait_for(fail.wait(), 10)
    return {"out": out.decode(), "rc": proc.returncode, "fail_rc": fail_rc}


async def r_signal(scope):
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    loop.add_signal_handler(signal.SIGUSR2, lambda: fut.done() or fut.set_result("SIGUSR2"))
    try:
        os.kill(os.getpid(), signal.SIGUSR2)
        got = await asyncio.wait_for(fut, 3)
    finally:
        loop.remove_signal_handler(signal.SIGUSR2)
    return {"got": got}


ROUTES = {
    "/sleep": r_sleep, "/gather": r_gather, "/timeout": r_timeout, "/taskgroup": r_taskgroup,
    "/current_task": r_current_task, "/contextvar": r_contextvar, "/executor": r_executor,
    "/server_roundtrip": r_server_roundtrip, "/httpx_self": r_httpx_self,
    "/threadsafe": r_threadsafe, "/subprocess": r_subprocess, "/signal": r_signal,
}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan_default(receive, send)
    await read_body(receive)
    handler = ROUTES.get(scope["path"])
    if handler is None:
        return await send_json(send, {"error": "not found"}, 404)
    try:
        result = await handler(scope)
    except BaseException as e:  # report what went wrong to the test
        result = {"exception": f"{type(e).__name__}: {e}"}
    await send_json(send, result)
