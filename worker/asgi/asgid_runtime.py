"""The Python half of asgid's ASGI HTTP bridge: the coroutine each request runs in. Compiled
into the binary (worker/asgi/embedded_module.cc)."""


class ClientDisconnected(OSError):
    """Raised by send() once the client has gone away (ASGI HTTP spec 2.4)."""


async def run_http(app, scope, receive, send, cycle):
    # One task per request; the native cycle learns how the app ended.
    try:
        await app(scope, receive, send)
    except BaseException as exc:
        cycle.app_raised(exc)
        if not isinstance(exc, Exception):
            raise
    else:
        cycle.app_returned()
