"""What applications do with asyncio, on asgid's loop.

Run: build/tests/asgid-pyrun --venv .venv tests/asyncio/test_loop_features.py
(the venv provides httpx; without it that test is skipped). Prints "N passed, N failed" and
exits 0 only if nothing failed.
"""

import asyncio
import contextvars
import os
import signal
import sys
import threading
import time
import unittest

import asgid_loop


class LoopFeatureTest(unittest.IsolatedAsyncioTestCase):
    """Each test runs in a fresh loop made by the installed policy (asgid-pyrun's)."""

    async def asyncSetUp(self):
        self.loop = asyncio.get_running_loop()

    async def test_the_running_loop_is_asgids(self):
        self.assertIsInstance(self.loop, asgid_loop.Loop)

    async def test_sleep(self):
        start = self.loop.time()
        result = await asyncio.sleep(0.02, 'slept')
        self.assertEqual(result, 'slept')
        self.assertGreaterEqual(self.loop.time() - start, 0.02)

    async def test_create_task_and_gather(self):
        async def double(x):
            await asyncio.sleep(0.001 * x)
            return 2 * x

        tasks = [asyncio.create_task(double(x)) for x in range(5)]
        self.assertEqual(await asyncio.gather(*tasks), [0, 2, 4, 6, 8])

    async def test_timeout_and_wait_for(self):
        with self.assertRaises(TimeoutError):
            async with asyncio.timeout(0.01):
                await asyncio.sleep(1)
        with self.assertRaises(TimeoutError):
            await asyncio.wait_for(asyncio.sleep(1), 0.01)
        self.assertEqual(await asyncio.wait_for(asyncio.sleep(0, 'ok'), 1), 'ok')

    async def test_task_group(self):
        results = []

        async def work(n):
            await asyncio.sleep(0)
            results.append(n)

        async with asyncio.TaskGroup() as group:
            for n in range(3):
                group.create_task(work(n))
        self.assertEqual(sorted(results), [0, 1, 2])

        async def fail():
            raise ValueError('in group')

        with self.assertRaises(ExceptionGroup):
            async with asyncio.TaskGroup() as group:
                group.create_task(fail())
                group.create_task(asyncio.sleep(10))

    async def test_current_task_inside_a_task(self):
        async def who():
            return asyncio.current_task()

        task = asyncio.create_task(who())
        self.assertIs(await task, task)
        self.assertIsNotNone(asyncio.current_task())

    async def test_contextvars_are_isolated_across_tasks(self):
        var = contextvars.ContextVar('request_id', default=None)

        async def handle(request_id):
            var.set(request_id)
            await asyncio.sleep(0.001)
            return var.get()

        results = await asyncio.gather(*(handle(n) for n in range(10)))
        self.assertEqual(results, list(range(10)))
        self.assertIsNone(var.get())

    async def test_run_in_executor_runs_while_the_loop_sleeps(self):
        # The worker threads need the GIL: this only finishes quickly if the loop releases
        # it while it waits in the kernel.
        def busy(n):
            total = 0
            for i in range(200_000):
                total += i % (n + 1)
            return n

        start = time.monotonic()
        results = await asyncio.gather(*(self.loop.run_in_executor(None, busy, n) for n in range(4)))
        self.assertEqual(results, [0, 1, 2, 3])
        self.assertLess(time.monotonic() - start, 5)

    async def test_server_and_open_connection_round_trip(self):
        async def echo(reader, writer):
            data = await reader.readline()
            writer.write(data.upper())
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(echo, '127.0.0.1', 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection('127.0.0.1', port)
            writer.write(b'hello\n')
            await writer.drain()
            self.assertEqual(await reader.readline(), b'HELLO\n')
            self.assertEqual(await reader.read(), b'')
            writer.close()
            await writer.wait_closed()

    async def test_call_soon_threadsafe_from_a_thread(self):
        future = self.loop.create_future()

        def worker():
            time.sleep(0.02)
            self.loop.call_soon_threadsafe(future.set_result, threading.get_ident())

        thread = threading.Thread(target=worker)
        thread.start()
        ident = await asyncio.wait_for(future, 5)
        thread.join()
        self.assertNotEqual(ident, threading.get_ident())

    async def test_subprocess_exec(self):
        process = await asyncio.create_subprocess_exec(
            'echo', 'hello', stdout=asyncio.subprocess.PIPE)
        out, _ = await process.communicate()
        self.assertEqual(out, b'hello\n')
        self.assertEqual(process.returncode, 0)
        process = await asyncio.create_subprocess_exec('sh', '-c', 'exit 3')
        self.assertEqual(await process.wait(), 3)

    async def test_add_signal_handler(self):
        received = self.loop.create_future()
        self.loop.add_signal_handler(signal.SIGUSR2, received.set_result, 'usr2')
        try:
            os.kill(os.getpid(), signal.SIGUSR2)
            self.assertEqual(await asyncio.wait_for(received, 5), 'usr2')
        finally:
            self.assertTrue(self.loop.remove_signal_handler(signal.SIGUSR2))

    async def test_httpx_client_against_a_local_server(self):
        try:
            import httpx
        except ImportError:
            self.skipTest('httpx is not importable (run with --venv .venv)')

        async def http_server(reader, writer):
            while (await reader.readline()) not in (b'\r\n', b''):
                pass
            body = b'hello from asyncio'
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n'
                         % len(body) + body)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(http_server, '127.0.0.1', 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            async with httpx.AsyncClient() as client:
                response = await client.get(f'http://127.0.0.1:{port}/')
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.text, 'hello from asyncio')


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(LoopFeatureTest)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    passed = result.testsRun - failed - len(result.skipped)
    print(f'{passed} passed, {failed} failed, {len(result.skipped)} skipped')
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
