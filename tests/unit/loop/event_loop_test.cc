// asgid's native asyncio loop, driven from C++ the way the worker drives it: EventLoop owns the
// loop; Python snippets (with `loop` bound) schedule work; C++ watchers share ev().
#include "worker/loop/event_loop.h"

#include <ev.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "worker/python/compat.h"
#include "worker/python/interpreter.h"
#include "worker/python/py_ref.h"

namespace asgid::py {
namespace {

// One interpreter for the whole test binary.
class PythonEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    interpreter_ =
        std::make_unique<Interpreter>(InterpreterOptions{.register_modules = {registerLoopModule}});
  }
  void TearDown() override { interpreter_.reset(); }

 private:
  std::unique_ptr<Interpreter> interpreter_;
};

[[maybe_unused]] auto* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new PythonEnvironment);

class EventLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loop_ = EventLoop::create();
    globals_ = checked(PyDict_New());
    PyDict_SetItemString(globals_.get(), "__builtins__", PyEval_GetBuiltins());
    PyDict_SetItemString(globals_.get(), "loop", loop_->pyLoop());
  }
  void TearDown() override {
    globals_.reset();
    loop_.reset();
  }

  // Runs Python statements with `loop` bound; a Python exception fails the test.
  void exec(const std::string& code) {
    PyRef result =
        PyRef::steal(PyRun_String(code.c_str(), Py_file_input, globals_.get(), globals_.get()));
    if (!result) ADD_FAILURE() << PyError::fetch().traceback();
  }
  PyRef global(const char* name) {
    return PyRef::borrow(PyDict_GetItemString(globals_.get(), name));
  }

  std::unique_ptr<EventLoop> loop_;
  PyRef globals_;
};

TEST_F(EventLoopTest, CallSoonRunsInOrderWithArguments) {
  exec(R"(
results = []
loop.call_soon(results.append, 1)
loop.call_soon(results.append, 2)
loop.call_soon(lambda a, b: results.append((a, b)), 'x', 'y')
loop.call_soon(loop.stop)
)");
  loop_->runForever();
  exec("assert results == [1, 2, ('x', 'y')], results");
}

TEST_F(EventLoopTest, CallbacksScheduledByCallbacksRunNextIteration) {
  exec(R"(
order = []
def first():
    order.append('first')
    loop.call_soon(order.append, 'scheduled-by-first')
loop.call_soon(first)
loop.call_soon(order.append, 'second')
loop.call_soon(loop.stop)
loop.run_forever()
assert order == ['first', 'second'], order  # stop() ends the iteration it is called in
loop.call_soon(loop.stop)
loop.run_forever()
assert order == ['first', 'second', 'scheduled-by-first'], order
)");
}

TEST_F(EventLoopTest, ContextIsCopiedAtScheduleTimeOrGiven) {
  exec(R"(
import contextvars
var = contextvars.ContextVar('var', default='unset')
seen = []
var.set('at-call-soon')
loop.call_soon(lambda: seen.append(var.get()))
var.set('later')
explicit = contextvars.Context()
explicit.run(var.set, 'explicit')
loop.call_soon(lambda: seen.append(var.get()), context=explicit)
def setter():
    var.set('set-inside')
loop.call_soon(setter)
loop.call_soon(lambda: seen.append(var.get()))
loop.call_soon(loop.stop)
loop.run_forever()
assert seen == ['at-call-soon', 'explicit', 'later'], seen
assert var.get() == 'later'
)");
}

TEST_F(EventLoopTest, CancelledHandlesAreSkipped) {
  exec(R"(
ran = []
handle = loop.call_soon(ran.append, 'cancelled')
timer = loop.call_later(0.001, ran.append, 'cancelled timer')
loop.call_soon(ran.append, 'kept')
handle.cancel(); timer.cancel()
assert handle.cancelled() and timer.cancelled()
loop.call_later(0.01, loop.stop)
loop.run_forever()
assert ran == ['kept'], ran
)");
}

TEST_F(EventLoopTest, CallLaterRunsInTimeOrderAndNeverEarly) {
  exec(R"(
fired = []
start = loop.time()
def record(name, delay):
    fired.append((name, loop.time() - start >= delay))
for name, delay in [('c', 0.03), ('a', 0.01), ('b', 0.02), ('a2', 0.01)]:
    loop.call_later(delay, record, name, delay)
loop.call_later(0.035, loop.stop)
loop.run_forever()
assert [name for name, _ in fired] == ['a', 'a2', 'b', 'c'], fired
assert all(on_time for _, on_time in fired), fired
)");
}

TEST_F(EventLoopTest, ManyShortTimersNeverFireEarly) {
  exec(R"(
early = []
pending = [0]
def check(when):
    if loop.time() < when:
        early.append(when - loop.time())
    pending[0] -= 1
    if not pending[0]:
        loop.stop()
for i in range(200):
    delay = 0.0001 * (i % 17)
    loop.call_at(loop.time() + delay, check, loop.time() + delay)
    pending[0] += 1
loop.run_forever()
assert not early, early
)");
}

TEST_F(EventLoopTest, TimeIsMonotonic) {
  exec(R"(
import time
assert abs(loop.time() - time.monotonic()) < 0.01
)");
}

TEST_F(EventLoopTest, AddReaderOnPipe) {
  exec(R"(
import os
r, w = os.pipe()
got = []
def readable():
    got.append(os.read(r, 100))
    assert loop._remove_reader(r) is True
    loop.stop()
loop._add_reader(r, readable)
assert loop._selector.get_key(r).events == 1
loop.call_soon(os.write, w, b'ping')
loop.run_forever()
assert got == [b'ping'], got
assert loop._remove_reader(r) is False
os.close(r); os.close(w)
)");
}

TEST_F(EventLoopTest, AddWriterAndReaderOnSameFd) {
  exec(R"(
import socket
a, b = socket.socketpair()
a.setblocking(False); b.setblocking(False)
events = []
def writable():
    events.append('w')
    loop.remove_writer(a)
    a.send(b'x')
def readable():
    events.append(('r', a.recv(10)))
    loop.remove_reader(a)
    loop.stop()
loop.add_reader(a, readable)
loop.add_writer(a, writable)
assert loop._selector.get_key(a.fileno()).events == 3
b.setblocking(True)
loop.call_soon(lambda: b.send(b'y'))
loop.run_forever()
assert events[0] == 'w' and events[-1] == ('r', b'y'), events
a.close(); b.close()
)");
}

TEST_F(EventLoopTest, CallSoonThreadsafeWakesSleepingLoop) {
  exec("loop.call_later(5, loop.stop)  # safety net");
  std::thread waker([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    // Taking the GIL here only works if the sleeping loop released it.
    GilGuard gil;
    PyRef stop = PyRef::steal(PyObject_GetAttrString(loop_->pyLoop(), "stop"));
    PyRef result =
        PyRef::steal(PyObject_CallMethod(loop_->pyLoop(), "call_soon_threadsafe", "O", stop.get()));
    if (!result) PyErr_Print();
  });
  auto start = std::chrono::steady_clock::now();
  Py_BEGIN_ALLOW_THREADS;  // let the thread start before the loop runs
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  Py_END_ALLOW_THREADS;
  loop_->runForever();
  auto elapsed = std::chrono::steady_clock::now() - start;
  Py_BEGIN_ALLOW_THREADS;
  waker.join();
  Py_END_ALLOW_THREADS;
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

struct Counter {
  int count = 0;
};

struct ForeignWatchers {
  EventLoop* loop;
  PyObject* globals;
  ev_timer timer;
  ev_io io;
  int pipe_fds[2];
  int timer_fired = 0;
  int io_fired = 0;
  PyRef task;
};

PyObject* makeCoroutine(PyObject* globals, const char* expression) {
  return PyRun_String(expression, Py_eval_input, globals, globals);
}

TEST_F(EventLoopTest, ForeignWatchersRunInsideRunForever) {
  exec(R"(
import asyncio
async def answer():
    await asyncio.sleep(0)
    loop.stop()
    return 42
loop.call_later(5, loop.stop)  # safety net
)");
  ForeignWatchers state{loop_.get(), globals_.get()};
  ASSERT_EQ(::pipe(state.pipe_fds), 0);
  ev_io_init(
      &state.io,
      [](struct ev_loop* ev, ev_io* w, int) {
        auto* s = static_cast<ForeignWatchers*>(w->data);
        char byte;
        EXPECT_EQ(::read(w->fd, &byte, 1), 1);
        ev_io_stop(ev, w);
        ++s->io_fired;
        PyRef coro = PyRef::steal(makeCoroutine(s->globals, "answer()"));
        s->task = PyRef::steal(s->loop->createTask(coro.get()));
        if (!s->task) PyErr_Print();
      },
      state.pipe_fds[0], EV_READ);
  state.io.data = &state;
  ev_io_start(loop_->ev(), &state.io);
  ev_timer_init(
      &state.timer,
      [](struct ev_loop* ev, ev_timer* w, int) {
        auto* s = static_cast<ForeignWatchers*>(w->data);
        ++s->timer_fired;
        EXPECT_EQ(::write(s->pipe_fds[1], "x", 1), 1);
        ev_timer_stop(ev, w);
      },
      0.02, 0.);
  state.timer.data = &state;
  ev_timer_start(loop_->ev(), &state.timer);
  loop_->runForever();
  EXPECT_EQ(state.timer_fired, 1);
  EXPECT_EQ(state.io_fired, 1);
  ASSERT_TRUE(state.task);
  PyRef result = PyRef::steal(PyObject_CallMethod(state.task.get(), "result", nullptr));
  ASSERT_TRUE(result) << PyError::fetch().what();
  EXPECT_EQ(PyLong_AsLong(result.get()), 42);
  ::close(state.pipe_fds[0]);
  ::close(state.pipe_fds[1]);
}

// TaskStart::kEager: on Python 3.12+ (compat::kEagerTaskStart) a coroutine's first step runs
// inside createTask(), as the current task; one that does not wait is done when createTask()
// returns. On 3.11 the first step waits for the loop, as with kScheduled. Either way a task
// that waits is resumed by the loop, as the same task.
struct EagerProbe {
  EventLoop* loop;
  PyObject* globals;
  ev_timer timer;
  PyRef quick;
  PyRef waits;
  Py_ssize_t steps_inside = -1;  // len(steps) right after both createTask() calls
};

TEST_F(EventLoopTest, EagerTaskStartRunsTheFirstStepInsideCreateTask) {
  exec(R"(
import asyncio
steps = []
async def quick():
    steps.append(('quick', asyncio.current_task()))
    return 'quick'
async def waits():
    steps.append(('waits', asyncio.current_task()))
    await asyncio.sleep(0)
    steps.append(('resumed', asyncio.current_task()))
    loop.stop()
loop.call_later(5, loop.stop)  # safety net
)");
  EagerProbe probe{loop_.get(), globals_.get(), {}, {}, {}};
  ev_timer_init(
      &probe.timer,
      [](struct ev_loop* ev, ev_timer* w, int) {
        auto* p = static_cast<EagerProbe*>(w->data);
        ev_timer_stop(ev, w);
        PyRef quick = PyRef::steal(makeCoroutine(p->globals, "quick()"));
        p->quick = PyRef::steal(p->loop->createTask(quick.get(), EventLoop::TaskStart::kEager));
        PyRef waits = PyRef::steal(makeCoroutine(p->globals, "waits()"));
        p->waits = PyRef::steal(p->loop->createTask(waits.get(), EventLoop::TaskStart::kEager));
        if (!p->quick || !p->waits) PyErr_Print();
        p->steps_inside = PyList_Size(PyDict_GetItemString(p->globals, "steps"));
      },
      0., 0.);
  probe.timer.data = &probe;
  ev_timer_start(loop_->ev(), &probe.timer);
  loop_->runForever();
  ASSERT_TRUE(probe.quick);
  ASSERT_TRUE(probe.waits);
  EXPECT_EQ(probe.steps_inside, compat::kEagerTaskStart ? 2 : 0);
  PyDict_SetItemString(globals_.get(), "quick_task", probe.quick.get());
  PyDict_SetItemString(globals_.get(), "waits_task", probe.waits.get());
  exec(R"(
assert quick_task.done() and quick_task.result() == 'quick'
assert waits_task.done()
assert steps == [('quick', quick_task), ('waits', waits_task), ('resumed', waits_task)], steps
)");
}

TEST_F(EventLoopTest, PrepareWatcherRunsBeforeEveryPoll) {
  // The server flushes buffered writes from an ev_prepare: it must run every iteration, also
  // when callbacks are ready and the poll does not block.
  Counter prepared;
  ev_prepare watcher;
  ev_prepare_init(&watcher, [](struct ev_loop*, ev_prepare* w, int) {
    ++static_cast<Counter*>(w->data)->count;
  });
  watcher.data = &prepared;
  ev_prepare_start(loop_->ev(), &watcher);
  exec(R"(
iterations = [0]
def again():
    iterations[0] += 1
    if iterations[0] < 10:
        loop.call_soon(again)
    else:
        loop.stop()
loop.call_soon(again)
loop.run_forever()
)");
  ev_prepare_stop(loop_->ev(), &watcher);
  EXPECT_EQ(prepared.count, 10);
}

TEST_F(EventLoopTest, CreateTaskAndFuture) {
  exec(R"(
async def wait_for(fut):
    return await fut
)");
  PyRef future = PyRef::steal(loop_->createFuture());
  ASSERT_TRUE(future);
  PyRef wait_for = global("wait_for");
  PyRef coro = PyRef::steal(PyObject_CallOneArg(wait_for.get(), future.get()));
  ASSERT_TRUE(coro);
  PyRef task = PyRef::steal(loop_->createTask(coro.get()));
  ASSERT_TRUE(task) << PyError::fetch().what();
  PyRef set = PyRef::steal(PyObject_GetAttrString(future.get(), "set_result"));
  PyRef value = PyRef::steal(PyUnicode_FromString("done"));
  PyRef handle =
      PyRef::steal(PyObject_CallMethod(loop_->pyLoop(), "call_soon", "OO", set.get(), value.get()));
  ASSERT_TRUE(handle);
  PyRef result = PyRef::steal(loop_->runUntilComplete(task.get()));
  ASSERT_TRUE(result);
  EXPECT_STREQ(PyUnicode_AsUTF8(result.get()), "done");
  exec(R"(
import asyncio
t = asyncio.Task(wait_for(loop.create_future()), loop=loop)
assert asyncio.isfuture(loop.create_future())
t.cancel()
try:
    loop.run_until_complete(t)
except asyncio.CancelledError:
    pass
)");
}

TEST_F(EventLoopTest, CurrentTaskInsideCreatedTask) {
  exec(R"(
import asyncio
async def who():
    return asyncio.current_task()
task = loop.create_task(who())
assert loop.run_until_complete(task) is task
)");
}

TEST_F(EventLoopTest, CallbackExceptionsGoToTheExceptionHandler) {
  exec(R"(
seen = []
loop.set_exception_handler(lambda l, context: seen.append(context))
def boom():
    raise ZeroDivisionError('boom')
handle = loop.call_soon(boom)
loop.call_soon(loop.stop)
loop.run_forever()
assert len(seen) == 1, seen
context = seen[0]
assert isinstance(context['exception'], ZeroDivisionError)
assert context['message'].startswith('Exception in callback'), context['message']
assert context['handle'] is handle
)");
}

TEST_F(EventLoopTest, SystemExitPropagatesOutOfRunForever) {
  exec(R"(
import sys
later = []
loop.call_soon(sys.exit, 7)
loop.call_soon(later.append, 'after')
try:
    loop.run_forever()
except SystemExit as exit:
    assert exit.code == 7
else:
    raise AssertionError('SystemExit swallowed')
loop.call_soon(loop.stop)
loop.run_forever()
assert later == ['after'], later
)");
}

TEST_F(EventLoopTest, AddSignalHandler) {
  exec(R"(
import signal
got = []
def on_signal(tag):
    got.append(tag)
    loop.stop()
loop.add_signal_handler(signal.SIGUSR1, on_signal, 'usr1')
loop.call_later(5, loop.stop)  # safety net
)");
  ASSERT_EQ(::raise(SIGUSR1), 0);
  loop_->runForever();
  exec(R"(
assert got == ['usr1'], got
assert loop.remove_signal_handler(signal.SIGUSR1) is True
assert loop.remove_signal_handler(signal.SIGUSR1) is False
)");
}

TEST_F(EventLoopTest, SignalHandlerMovesToTheNewestLoop) {
  // libev aborts when two loops watch one signal; the newest loop takes it over instead.
  exec(R"(
import asgid_loop, os, signal
other = asgid_loop.Loop()
got = []
other.add_signal_handler(signal.SIGUSR1, got.append, 'other')
loop.add_signal_handler(signal.SIGUSR1, got.append, 'loop')
os.kill(os.getpid(), signal.SIGUSR1)
loop.call_later(0.05, loop.stop)
loop.run_forever()
assert got == ['loop'], got
other.close()
assert loop.remove_signal_handler(signal.SIGUSR1)
)");
}

TEST_F(EventLoopTest, ServerSignalWatcherCoexistsWithPythonHandler) {
  Counter server;
  ev_signal watcher;
  ev_signal_init(
      &watcher, [](struct ev_loop*, ev_signal* w, int) { ++static_cast<Counter*>(w->data)->count; },
      SIGUSR2);
  watcher.data = &server;
  ev_signal_start(loop_->ev(), &watcher);
  exec(R"(
import os, signal
got = []
loop.add_signal_handler(signal.SIGUSR2, got.append, 'python')
os.kill(os.getpid(), signal.SIGUSR2)
loop.call_later(0.05, loop.stop)
loop.run_forever()
assert got == ['python'], got
assert loop.remove_signal_handler(signal.SIGUSR2)
os.kill(os.getpid(), signal.SIGUSR2)  # still watched by the C++ watcher: no default action
loop.call_later(0.05, loop.stop)
loop.run_forever()
assert got == ['python'], got
)");
  ev_signal_stop(loop_->ev(), &watcher);
  EXPECT_EQ(server.count, 2);
}

TEST_F(EventLoopTest, CloseIsIdempotentAndRefusesNewWork) {
  exec(R"(
loop.call_soon(print)
loop.close()
loop.close()
assert loop.is_closed()
try:
    loop.call_soon(print)
except RuntimeError:
    pass
else:
    raise AssertionError('call_soon on a closed loop')
)");
}

}  // namespace
}  // namespace asgid::py
