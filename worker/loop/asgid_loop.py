"""asgid's asyncio event loop (the Python half).

Principle: Loop is the standard library's Unix selector event loop whose core is native on
libev (_asgid_loop.LoopCore): the ready queue, timers, fd watchers, thread-safe wake-ups and
signal watchers. The core's methods are bound as the loop's own (loop.call_soon is
LoopCore.call_soon), so the C Task and Future reach native code without a Python frame, and
everything built on those primitives (transports, servers, streams, subprocesses, executors,
sendfile) is the standard library's own code, unchanged.

What the standard library keeps in Python and this loop keeps natively: _ready (a view on the
core's queue), _scheduled (unused: timers live in libev), _selector (a read-only stand-in
answering get_key() from the core's fd table), the self-pipe (replaced by an ev_async).
"""

import asyncio
import operator
import selectors
import signal
import sys
import threading
from asyncio import base_events, coroutines, format_helpers, unix_events

import _asgid_loop

__all__ = ('Loop', 'EventLoopPolicy', 'new_event_loop', 'install')

_UNCATCHABLE = frozenset(
    getattr(signal, name) for name in ('SIGKILL', 'SIGSTOP') if hasattr(signal, name))


class _ReadyView:
    """loop._ready for code that inspects it (len, truth) or appends a handle."""

    __slots__ = ('_core',)

    def __init__(self, core):
        self._core = core

    def __len__(self):
        return self._core._ready_len()

    def __bool__(self):
        return self._core._ready_len() > 0

    def append(self, handle):
        self._core._add_callback(handle)

    def clear(self):
        self._core._ready_clear()


class _CoreSelector:
    """loop._selector: transports' reprs and the unix pipe transports call get_key()."""

    def __init__(self, core):
        self._core = core

    def get_key(self, fileobj):
        fd = selectors._fileobj_to_fd(fileobj)
        events, reader, writer = self._core._fd_key(fd)
        return selectors.SelectorKey(fileobj, fd, events, (reader, writer))

    def select(self, timeout=None):
        raise RuntimeError('asgid_loop polls through libev, not through its selector')

    def close(self):
        pass


def _set_closed(loop, closed):
    if closed:
        loop._core.mark_closed()


class Loop(unix_events._UnixSelectorEventLoop):
    """An asyncio event loop running on a native libev core."""

    def __init__(self):
        core = _asgid_loop.LoopCore(self)
        self._core = core
        # The fast paths: bound native methods, found in the instance dict.
        self.call_soon = core.call_soon
        self.call_soon_threadsafe = core.call_soon_threadsafe
        self.call_at = core.call_at
        self.call_later = core.call_later
        self.time = core.time
        self.get_debug = core.get_debug
        self.create_future = core.create_future
        self._run_once = core.run_once
        self._add_reader = core._add_reader
        self._remove_reader = core._remove_reader
        self._add_writer = core._add_writer
        self._remove_writer = core._remove_writer
        self._add_callback = core._add_callback
        self._write_to_self = core.wake
        super().__init__(_CoreSelector(core))

    # The closed flag lives in the core so that its native methods refuse work after close().
    _closed = property(operator.attrgetter('_core.closed'), _set_closed)
    _ready = property(lambda self: _ReadyView(self._core), lambda self, value: None)

    def _make_self_pipe(self):
        self._ssock = self._csock = None
        self._internal_fds += 1

    def _close_self_pipe(self):
        self._internal_fds -= 1

    def _process_self_data(self, data):
        pass

    def _timer_handle_cancelled(self, handle):
        pass

    def _add_callback_signalsafe(self, handle):
        self._core._add_callback(handle)
        self._core.wake()

    def set_debug(self, enabled):
        super().set_debug(enabled)
        self._core._set_debug(enabled)

    def run_forever(self):
        # Python-level signal handlers (KeyboardInterrupt, signal.signal) interrupt the poll at
        # once through the wake-up fd, whichever thread the kernel delivered the signal to.
        previous = None
        if threading.current_thread() is threading.main_thread():
            try:
                previous = signal.set_wakeup_fd(self._core.signal_wakeup_fd,
                                                warn_on_full_buffer=False)
            except ValueError:
                previous = None
        try:
            super().run_forever()
        finally:
            if previous is not None:
                signal.set_wakeup_fd(previous)

    def close(self):
        if self.is_running():
            raise RuntimeError('Cannot close a running event loop')
        if self.is_closed():
            return
        try:
            super().close()
        finally:
            self._core.close()

    def add_signal_handler(self, sig, callback, *args):
        """Add a handler for a signal (main thread only, as asyncio's)."""
        if (coroutines.iscoroutine(callback) or
                coroutines.iscoroutinefunction(callback)):
            raise TypeError('coroutines cannot be used with add_signal_handler()')
        self._check_signal(sig)
        self._check_closed()
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError(
                'set_wakeup_fd only works in main thread of the main interpreter')
        if sig in _UNCATCHABLE:
            raise RuntimeError(f'sig {sig} cannot be caught')
        self._signal_handlers[sig] = self._core._add_signal_handler(sig, callback, *args)

    def remove_signal_handler(self, sig):
        """Remove a handler for a signal. Return True if one was removed."""
        self._check_signal(sig)
        if self._signal_handlers.pop(sig, None) is None:
            return False
        self._core._remove_signal_handler(sig)
        return True

    # Debug mode (set_debug(True)) only: called by the core.

    def _asgid_debug_handle(self, handle, method):
        if method != 'call_soon_threadsafe':
            self._check_thread()
        self._check_callback(handle._callback, method)
        handle._source_traceback = format_helpers.extract_stack(sys._getframe(1))

    def _asgid_run_debug(self, handle):
        try:
            self._current_handle = handle
            t0 = self.time()
            handle._run()
            dt = self.time() - t0
            if dt >= self.slow_callback_duration:
                base_events.logger.warning('Executing %s took %.3f seconds',
                                           base_events._format_handle(handle), dt)
        finally:
            self._current_handle = None


def _handle_repr(handle):
    """repr() of a native handle, in asyncio.Handle's words."""
    info = [type(handle).__name__]
    if handle._cancelled:
        info.append('cancelled')
    if handle._callback is not None:
        info.append(format_helpers._format_callback_source(handle._callback, handle._args))
    if handle._source_traceback:
        frame = handle._source_traceback[-1]
        info.append(f'created at {frame[0]}:{frame[1]}')
    if isinstance(handle, _asgid_loop.TimerHandle):
        info.insert(2 if handle._cancelled else 1, f'when={handle._when}')
    return '<{}>'.format(' '.join(info))


class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """The default policy, making asgid loops."""

    _loop_factory = Loop


def new_event_loop():
    return Loop()


def install():
    """Make asgid's loop the one asyncio creates (asyncio.run, new_event_loop)."""
    asyncio.set_event_loop_policy(EventLoopPolicy())
