"""Micro-benchmark: asgid's loop against the standard library's loop and uvloop.

Run (Release build; the venv provides uvloop):
    build-rel/tests/asgid-pyrun --venv .venv tests/asyncio/bench_loop.py [--quick]

Each case reports nanoseconds per operation (best of several runs) per loop and the ratios
"stdlib/asgid" and "uvloop/asgid" (above 1: asgid is faster).
"""

import asyncio
import socket
import sys
import time

import asgid_loop

N = 200_000


def bench_call_soon_chain(loop, n):
    """One callback rescheduling itself: call_soon + one run per operation."""
    remaining = [n]

    def step():
        remaining[0] -= 1
        if remaining[0]:
            loop.call_soon(step)
        else:
            loop.stop()

    loop.call_soon(step)
    loop.run_forever()


def bench_call_soon_batch(loop, n):
    """n callbacks scheduled up front, run in one iteration."""
    def noop(arg):
        pass

    for i in range(n):
        loop.call_soon(noop, i)
    loop.call_soon(loop.stop)
    loop.run_forever()


def bench_future_round_trip(loop, n):
    """A task awaiting a fresh future that a callback resolves: the per-request pattern."""
    async def main():
        for _ in range(n):
            future = loop.create_future()
            loop.call_soon(future.set_result, None)
            await future

    loop.run_until_complete(main())


def bench_sleep_zero(loop, n):
    """Task steps: asyncio.sleep(0) yields to the loop once."""
    async def main():
        for _ in range(n):
            await asyncio.sleep(0)

    loop.run_until_complete(main())


def bench_create_task(loop, n):
    """Creating and finishing tasks (an ASGI server makes one per request)."""
    async def child():
        return 1

    async def main():
        for _ in range(n // 10):
            await asyncio.gather(*[loop.create_task(child()) for _ in range(10)])

    loop.run_until_complete(main())


def bench_timers(loop, n):
    """call_later with spread delays, half cancelled (timeouts that never fire)."""
    def noop():
        pass

    handles = [loop.call_later(0.0001 * (i % 50), noop) for i in range(n)]
    for handle in handles[::2]:
        handle.cancel()
    loop.call_later(0.006, loop.stop)
    loop.run_forever()


def bench_socket_ping_pong(loop, n):
    """Protocol ping-pong over a socketpair: fd readiness -> data_received -> write."""
    a, b = socket.socketpair()

    class Pong(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            self.transport.write(data)

    class Ping(asyncio.Protocol):
        def __init__(self, done):
            self.done = done
            self.left = n

        def connection_made(self, transport):
            self.transport = transport
            transport.write(b'x')

        def data_received(self, data):
            self.left -= 1
            if self.left:
                self.transport.write(b'x')
            else:
                self.done.set_result(None)

    async def main():
        done = loop.create_future()
        pong_transport, _ = await loop.connect_accepted_socket(Pong, b)
        ping_transport, _ = await loop.connect_accepted_socket(lambda: Ping(done), a)
        await done
        ping_transport.close()
        pong_transport.close()
        await asyncio.sleep(0)

    loop.run_until_complete(main())


CASES = [
    (bench_call_soon_chain, N),
    (bench_call_soon_batch, N),
    (bench_future_round_trip, N // 2),
    (bench_sleep_zero, N // 2),
    (bench_create_task, N // 2),
    (bench_timers, N // 4),
    (bench_socket_ping_pong, N // 10),
]


def loop_factories():
    factories = {
        'asgid': asgid_loop.new_event_loop,
        'stdlib': asyncio.unix_events._UnixSelectorEventLoop,
    }
    try:
        import uvloop
        factories['uvloop'] = uvloop.new_event_loop
    except ImportError:
        print('uvloop is not importable (run with --venv .venv): skipped', file=sys.stderr)
    return factories


def measure(case, n, factory, repeat):
    best = float('inf')
    for _ in range(repeat):
        loop = factory()
        asyncio.set_event_loop(loop)
        try:
            start = time.perf_counter()
            case(loop, n)
            best = min(best, time.perf_counter() - start)
        finally:
            loop.close()
            asyncio.set_event_loop(None)
    return best / n * 1e9


def main():
    quick = '--quick' in sys.argv
    repeat = 2 if quick else 5
    factories = loop_factories()
    names = list(factories)
    print(f"{'case':<26}" + ''.join(f'{name + " ns/op":>14}' for name in names) +
          ''.join(f'{other + "/asgid":>14}' for other in names[1:]))
    for case, n in CASES:
        n = n // 10 if quick else n
        timings = {name: measure(case, n, factory, repeat) for name, factory in factories.items()}
        row = f'{case.__name__[6:]:<26}' + ''.join(f'{timings[name]:>14.0f}' for name in names)
        row += ''.join(f'{timings[other] / timings["asgid"]:>14.2f}' for other in names[1:])
        print(row)
    return 0


if __name__ == '__main__':
    sys.exit(main())
