"""SIGUSR2: binary upgrade. A new master is exec'd with the listeners, its workers get ready,
then the old master drains and exits; clients notice nothing and the pid file names the new
master. The new master is not the test's child (it outlives its parent): it is found through
the pid file, and the test process adopts it as a child subreaper only to reap it (this
machine's PID 1 does not reap orphans)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from master_support import (MASTER_APP, MASTER_TITLE_RE, Load, alive, cmdline, get_tcp,
                            read_pid_file, reap, set_child_subreaper, wait_gone, wait_worker_count)
from master_support import master  # noqa: F401 - the fixture
from support import poll


@pytest.fixture
def subreaper():
    set_child_subreaper(True)
    yield
    set_child_subreaper(False)


def test_usr2_upgrade_under_load(master, tmp_path, subreaper):
    pid_file = tmp_path / "asgid.pid"
    srv = master(MASTER_APP, "--workers", "2", "--pid", pid_file,
                 "--timeout-graceful-shutdown", "5")
    srv.adopted = True
    old_master = srv.pid
    assert read_pid_file(pid_file) == old_master
    old_workers = set(wait_worker_count(old_master, 2))

    load = Load(srv.port, fresh=2, keepalive=2).start()
    new_master = None
    try:
        time.sleep(0.5)
        srv.signal(signal.SIGUSR2)
        new_master = poll(lambda: (lambda p: p if p and p != old_master else None)(
            read_pid_file(pid_file)), 20)
        if new_master:
            srv.other_masters.append(new_master)
        assert new_master, (f"pid file still says {read_pid_file(pid_file)} 20 s after USR2\n"
                            + srv.stderr_text()[-3000:])
        rc = srv.wait_exit(20)
        assert rc == 0, f"old master: exit code {rc} (None: still running 20 s later)"
        time.sleep(1.0)  # clients keep going against the new master alone
    finally:
        load.stop()

    assert load.refused == 0, load.summary()
    assert not load.failures, load.summary()
    assert load.ok >= 200, load.summary()
    assert alive(new_master)
    assert MASTER_TITLE_RE.match(cmdline(new_master)), cmdline(new_master)
    new_workers = set(wait_worker_count(new_master, 2))
    assert not new_workers & old_workers
    assert not any(alive(p) for p in old_workers), "old workers outlived their master"
    served = {int(get_tcp(srv.port).body) for _ in range(10)}
    assert served <= new_workers, f"served by {served}, new master's workers {new_workers}"
    assert set(load.pids) & new_workers, "the new workers never served the clients"

    # The new master answers signals like the first one: TERM stops it, cleanly.
    os.kill(new_master, signal.SIGTERM)
    code = reap(new_master, 15)
    if code is None:  # not adopted (another subreaper in between): at least it must go
        assert wait_gone(new_master, 15), "the new master did not exit after SIGTERM"
    else:
        assert code == 0, f"new master exit code {code}"
    assert poll(lambda: not any(alive(p) for p in new_workers), 5)
    assert not pid_file.exists(), "the new master left its pid file behind"


def test_usr2_then_immediate_term_of_new_master_leaves_nothing_behind(master, tmp_path,
                                                                       subreaper):
    """An upgrade followed by a stop: both masters gone, the pid file removed."""
    pid_file = tmp_path / "asgid.pid"
    srv = master(MASTER_APP, "--workers", "1", "--pid", pid_file)
    srv.adopted = True
    srv.signal(signal.SIGUSR2)
    new_master = poll(lambda: (lambda p: p if p and p != srv.pid else None)(
        read_pid_file(pid_file)), 20)
    if new_master:
        srv.other_masters.append(new_master)
    assert new_master, srv.stderr_text()[-3000:]
    assert srv.wait_exit(20) == 0
    assert get_tcp(srv.port).status == 200
    os.kill(new_master, signal.SIGTERM)
    code = reap(new_master, 15)
    assert code == 0 or (code is None and wait_gone(new_master, 15)), code
    assert not pid_file.exists()
