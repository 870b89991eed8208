"""Fixtures for asgid's integration tests (see support.py for the machinery).

`server(app, *options, env=..., cwd=..., port=..., allow_tracebacks=False)` starts asgid (cwd
tests/integration/apps) and waits for its "Listening on" line; at teardown every server still
running gets SIGTERM (SIGKILL after 5 s) and the test fails if one did not exit by itself in
time, died from a signal it was not sent on purpose, left processes of its group behind,
printed a sanitizer or runtime crash report, or logged a Python traceback though the test
did not make its app fail (allow_tracebacks).
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import support  # noqa: E402


def _servers_fixture():
    started: list[support.Server] = []

    def start(app, *args, env=None, cwd=support.APPS, port="auto", wait_ready=True,
              ready_timeout=15.0, allow_tracebacks=False):
        srv = support.Server(app, args, env=env, cwd=cwd, port=port,
                             ready_timeout=ready_timeout, allow_tracebacks=allow_tracebacks)
        started.append(srv)
        srv.start(wait_ready=wait_ready)
        return srv

    def finish():
        problems = []
        for srv in started:
            problems += srv.finish()
        return problems

    return start, finish


@pytest.fixture
def server():
    start, finish = _servers_fixture()
    yield start
    problems = finish()
    assert not problems, "; ".join(problems)


@pytest.fixture(scope="module")
def module_server():
    """Like `server`, for one server shared by the tests of a module."""
    start, finish = _servers_fixture()
    yield start
    problems = finish()
    assert not problems, "; ".join(problems)


@pytest.fixture
def free_port():
    return support.free_port


@pytest.fixture
def raw():
    conns = []

    def connect(port=None, **kw):
        conn = support.RawConnection(port, **kw)
        conns.append(conn)
        return conn

    yield connect
    for conn in conns:
        conn.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and rep.when in ("call", "setup"):
        for srv in list(support.LIVE_SERVERS):
            rep.sections.append((f"asgid {srv.app} stderr (tail)", srv.stderr_text()[-6000:]))
            rep.sections.append((f"asgid {srv.app} stdout (tail)", srv.stdout_text()[-2000:]))
