"""Request tasks that start eagerly (Python 3.12+, issue 10): routes whose first step needs no
wait, so on 3.12+ the whole response is sent inside the task's creation.

/now?id=X         sets a contextvar, answers at once without awaiting anything that waits,
                  then (after the response) checks it is still the same task and context
/later?id=X&ms=N  sleeps N ms first, then answers like /now (for pipelining order)
/seen?id=X        what /now or /later saw after its response (the after-response checks)
/hang?marker=P    writes "started" to P, waits forever; writes "cancelled" when cancelled
"""
import asyncio
import contextvars
import sys

from asgi_util import append_line, lifespan_default, query, send_json

request_id = contextvars.ContextVar("request_id", default=None)
after = {}  # id -> what the task saw after its response


async def answer(scope, send, rid):
    before = request_id.get()
    request_id.set(rid)
    task = asyncio.current_task()
    await send_json(send, {
        "id": rid,
        "before": before,
        "task": task is not None,
        "task_done": task.done() if task is not None else None,
        "python": list(sys.version_info[:2]),
    })
    # The response is complete: on 3.12+ with /now this runs inside the task's creation.
    await asyncio.sleep(0)
    after[rid] = {"same_task": asyncio.current_task() is task, "var": request_id.get()}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan_default(receive, send)
    q = query(scope)
    path = scope["path"]
    if path == "/now":
        await answer(scope, send, q["id"])
    elif path == "/later":
        await asyncio.sleep(int(q.get("ms", "0")) / 1000)
        await answer(scope, send, q["id"])
    elif path == "/seen":
        await send_json(send, after.get(q["id"]))
    elif path == "/hang":
        append_line(q["marker"], "started")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            append_line(q["marker"], "cancelled")
            raise
    else:
        await send_json(send, {"error": "no route"}, 404)
