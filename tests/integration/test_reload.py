"""--reload: the master watches the app's tree and replaces its workers when a source file
changes; ignored files, virtualenvs, caches and logs never restart anything; a broken save
leaves the old workers serving and the next save retries."""

from __future__ import annotations

import os
import re
import subprocess
import signal
import time
from pathlib import Path

import httpx
import pytest

from master_support import Load, MasterServer, run_to_exit, wait_worker_count, wait_workers, workers
from master_support import master  # noqa: F401 - the fixture
from support import poll

APP = "reload_app:app"
RESTART = re.compile(r"Reloading: (.+) changed")
COMPLETE = re.compile(r"Reload complete")

# One tiny app per test, written into the test's own tree. {version} tells code versions
# apart; {lifespan} is the body run on lifespan.startup.
APP_SOURCE = '''\
import os

VERSION = {version!r}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                {lifespan}
                await send({{"type": "lifespan.startup.complete"}})
            elif message["type"] == "lifespan.shutdown":
                await send({{"type": "lifespan.shutdown.complete"}})
                return
    body = (str(os.getpid()) if scope["path"] == "/pid" else VERSION).encode()
    await send({{"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]}})
    await send({{"type": "http.response.body", "body": body}})
'''


def write_app(app_dir: Path, version: str, lifespan: str = "pass", prelude: str = ""):
    """An editor's save: write a temp file, then rename it over the module."""
    tmp = app_dir / ".reload_app.py.swp"
    tmp.write_text(prelude + APP_SOURCE.format(version=version, lifespan=lifespan))
    os.replace(tmp, app_dir / "reload_app.py")


def slow_import(marker: Path) -> str:
    """A module prelude that records the import has begun, then takes three seconds."""
    return f"import pathlib, time\npathlib.Path({str(marker)!r}).touch()\ntime.sleep(3)\n"


def make_tree(tmp_path: Path) -> Path:
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    write_app(app_dir, "v1")
    (app_dir / "helper.py").write_text("X = 1\n")
    return app_dir


def start(master, tmp_path, *args, **kw):
    app_dir = make_tree(tmp_path)
    srv = master(APP, "--reload", "--app-dir", str(app_dir), "--reload-delay", "0.1", *args,
                 cwd=tmp_path, env={"PYTHONDONTWRITEBYTECODE": "1"}, **kw)
    return srv, app_dir


def restarts(srv) -> list[str]:
    return RESTART.findall(srv.stderr_text())


def wait_restarts(srv, n: int, timeout: float = 15.0) -> list[str]:
    """Waits until n restarts have been logged and the last reload has completed (or failed),
    then checks that no further restart follows within a quiet second."""
    def settled():
        text = srv.stderr_text()
        done = len(COMPLETE.findall(text)) + len(re.findall(r"Reload failed", text))
        return len(RESTART.findall(text)) >= n and done >= n
    assert poll(settled, timeout), srv.stderr_text()[-3000:]
    time.sleep(1.0)  # long enough for a second restart (delay 0.1 s) to show up
    seen = restarts(srv)
    assert len(seen) == n, f"expected {n} restart(s), got {seen}"
    return seen


def version(srv) -> str:
    return httpx.get(srv.url + "/", timeout=5).text


def test_edit_add_delete_and_rename_restart_once_each(master, tmp_path):
    srv, app_dir = start(master, tmp_path, "--workers", "2")
    assert "with inotify" in srv.stderr_text()
    old = set(wait_worker_count(srv.pid, 2))

    write_app(app_dir, "v2")
    assert wait_restarts(srv, 1)[-1] == "app/reload_app.py"
    assert poll(lambda: version(srv) == "v2", 5)
    assert not set(workers(srv.pid)) & old, "old workers still running after the reload"

    (app_dir / "extra.py").write_text("Y = 2\n")
    assert wait_restarts(srv, 2)[-1] == "app/extra.py"
    (app_dir / "extra.py").unlink()
    assert wait_restarts(srv, 3)[-1] == "app/extra.py"
    (app_dir / "helper.py").rename(app_dir / "helper2.py")
    assert wait_restarts(srv, 4)[-1] == "app/helper.py and 1 more"
    pkg = app_dir / "pkg" / "sub"
    pkg.mkdir(parents=True)  # a directory created after start is watched too
    time.sleep(0.3)
    (pkg / "mod.py").write_text("Z = 3\n")
    assert wait_restarts(srv, 5)[-1] == "app/pkg/sub/mod.py"
    assert version(srv) == "v2"


def test_ignored_files_and_directories_restart_nothing(master, tmp_path):
    app_dir = make_tree(tmp_path)
    for d in (".venv/lib/python3.11/site-packages", "venv2/lib", "__pycache__", ".git/hooks",
              "node_modules/pkg"):
        (app_dir / d).mkdir(parents=True)
    (app_dir / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (app_dir / "venv2" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    srv = master(APP, "--reload", "--app-dir", str(app_dir), "--reload-delay", "0.1",
                 "--reload-exclude", "skip_*.py", cwd=tmp_path)
    mark = len(srv.stderr_text())
    (app_dir / ".venv/lib/python3.11/site-packages/mod.py").write_text("x = 1\n")
    (app_dir / "venv2/lib/mod.py").write_text("x = 1\n")
    (app_dir / "__pycache__/mod.py").write_text("x = 1\n")
    (app_dir / ".git/hooks/hook.py").write_text("x = 1\n")
    (app_dir / "node_modules/pkg/index.py").write_text("x = 1\n")
    (app_dir / "notes.txt").write_text("x\n")
    (app_dir / "reload_app.pyc").write_bytes(b"x")
    (app_dir / ".hidden.py").write_text("x = 1\n")
    (app_dir / "~backup.py").write_text("x = 1\n")
    (app_dir / "skip_me.py").write_text("x = 1\n")
    time.sleep(1.0)
    assert not restarts(srv), srv.stderr_since(mark)
    # The watcher is alive: a real change still counts.
    write_app(app_dir, "v2")
    assert wait_restarts(srv, 1) == ["app/reload_app.py"]


def test_include_pattern_adds_files(master, tmp_path):
    srv, app_dir = start(master, tmp_path, "--reload-include", "*.html")
    (app_dir / "templates").mkdir()
    time.sleep(0.3)
    (app_dir / "templates" / "index.html").write_text("<p>hi</p>\n")
    assert wait_restarts(srv, 1) == ["app/templates/index.html"]


def test_a_burst_of_200_writes_is_one_restart(master, tmp_path):
    srv, app_dir = start(master, tmp_path, "--reload-delay", "0.5")
    for i in range(200):
        (app_dir / f"mod{i % 20}.py").write_text(f"X = {i}\n")
    seen = wait_restarts(srv, 1)
    assert seen[0] == "app/mod0.py and 19 more", seen


BROKEN = {
    "syntax": (lambda d: (d / "reload_app.py").write_text("x = 1\n\ndef broken(:\n    pass\n"),
               r"^SyntaxError: ", r'reload_app\.py", line 3'),
    "import": (lambda d: (d / "reload_app.py").write_text(
        "import os\n\nraise RuntimeError('boom at import')\n"),
        r"^RuntimeError: boom at import$", r'reload_app\.py", line 3'),
    "lifespan": (lambda d: write_app(d, "v-bad", lifespan="raise RuntimeError('boom at startup')"),
                 r"^RuntimeError: boom at startup$", r'reload_app\.py", line 11'),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_code_that_cannot_boot_keeps_the_old_workers_until_fixed(master, tmp_path, kind):
    break_app, error_re, where_re = BROKEN[kind]
    # --lifespan on: in auto mode an exception in startup means "no lifespan", as in uvicorn.
    srv, app_dir = start(master, tmp_path, "--workers", "2", "--lifespan", "on",
                         allow_tracebacks=True)
    old = set(wait_worker_count(srv.pid, 2))
    mark = len(srv.stderr_text())
    load = Load(srv.port, fresh=1, keepalive=1).start()
    try:
        break_app(app_dir)
        assert srv.wait_stderr(r"Reload failed", 15, start=mark), srv.stderr_since(mark)[-3000:]
        time.sleep(1.0)  # no retry loop: nothing more boots without a change
    finally:
        load.stop()
    err = srv.stderr_since(mark)
    # Once: the error's own line (a SyntaxError at import has no "Traceback" header on
    # Python 3.13, so count the error, not the header).
    assert len(re.findall(error_re, err, re.M)) == 1, \
        f"error not shown exactly once:\n{err[-4000:]}"
    assert re.search(where_re, err), err[-4000:]
    assert len(re.findall(r"Booting worker", err)) == 1, err[-4000:]
    assert set(workers(srv.pid)) == old
    assert load.refused == 0 and not load.failures, load.summary()
    assert set(load.pids) <= old and load.ok > 0, load.summary()
    assert version(srv) == "v1"

    write_app(app_dir, "v3-fixed")
    wait_workers(srv.pid, lambda w: len(w) == 2 and not set(w) & old, 15, "two new workers")
    assert poll(lambda: version(srv) == "v3-fixed", 5)


def test_a_save_during_a_reload_replaces_the_workers_still_booting(master, tmp_path):
    srv, app_dir = start(master, tmp_path)
    (old,) = wait_worker_count(srv.pid, 1)
    mark = len(srv.stderr_text())
    importing = tmp_path / "v2-importing"
    write_app(app_dir, "v2-slow", prelude=slow_import(importing))
    # Save again only once the new worker is inside the import: saved earlier, it would
    # import v3 itself and finish the roll before the watcher reports the second save.
    assert poll(importing.exists, 10), srv.stderr_since(mark)
    write_app(app_dir, "v3")
    assert srv.wait_stderr(r"Reload superseded by a newer change", 10, start=mark)
    assert poll(lambda: version(srv) == "v3", 10), srv.stderr_since(mark)
    assert "Reload failed" not in srv.stderr_since(mark)
    assert set(wait_worker_count(srv.pid, 1)) != {old}


def test_sigterm_during_a_reload_stops_without_starting_workers(master, tmp_path):
    srv, app_dir = start(master, tmp_path, "--workers", "2")
    wait_worker_count(srv.pid, 2)
    mark = len(srv.stderr_text())
    write_app(app_dir, "v2-slow", prelude="import time\ntime.sleep(3)\n")
    assert srv.wait_stderr(r"Booting worker", 10, start=mark)
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(15) == 0, srv.stderr_since(mark)
    after_stop = srv.stderr_since(mark).split("Stopping", 1)[1]
    assert "Booting worker" not in after_stop, after_stop


def test_four_workers_all_replaced_without_a_failed_request(master, tmp_path):
    srv, app_dir = start(master, tmp_path, "--workers", "4")
    old = set(wait_worker_count(srv.pid, 4))
    mark = len(srv.stderr_text())
    load = Load(srv.port, fresh=2, keepalive=2, path="/pid").start()
    try:
        time.sleep(0.3)
        write_app(app_dir, "v2")
        new = set(wait_workers(srv.pid, lambda w: len(w) == 4 and not set(w) & old, 20,
                               "four new workers"))
        assert srv.wait_stderr(r"Reload complete", 10, start=mark)
        time.sleep(0.3)
    finally:
        load.stop()
    assert load.refused == 0 and not load.failures, load.summary()
    assert set(load.pids) & new, f"new workers never served: {load.summary()}"
    # One worker first; the other three at once, once it was ready.
    events = re.findall(r"Booting worker \d+|Worker \d+ \(pid \d+\) ready", srv.stderr_since(mark))
    assert events[0].startswith("Booting") and events[1].endswith("ready"), events
    assert [e.startswith("Booting") for e in events[2:5]] == [True] * 3, events
    assert {version(srv) for _ in range(8)} == {"v2"}


def test_logs_and_pid_file_inside_the_tree_restart_nothing(master, tmp_path):
    app_dir = make_tree(tmp_path)
    (app_dir / "logs").mkdir()
    access_log = app_dir / "access.log"  # beside the code: ignored, its directory still watched
    srv = master(APP, "--reload", "--app-dir", str(app_dir), "--reload-delay", "0.1",
                 "--access-logfile", str(access_log), "--pid", str(app_dir / "logs/asgid.pid"),
                 "--reload-include", "*.log", cwd=tmp_path)
    assert re.search(r"not watching app/logs", srv.stderr_text()), srv.stderr_text()
    for _ in range(50):
        assert version(srv) == "v1"
    assert poll(lambda: access_log.exists() and access_log.stat().st_size > 0, 5)
    os.kill(srv.pid, 10)  # SIGUSR1: the log files are reopened (closed and opened again)
    time.sleep(1.0)
    assert not restarts(srv), srv.stderr_text()[-2000:]
    write_app(app_dir, "v2")
    assert wait_restarts(srv, 1) == ["app/reload_app.py"]


def test_polling_sees_changes(master, tmp_path):
    srv, app_dir = start(master, tmp_path, "--reload-poll")
    assert "--reload: polling app every 1s" in srv.stderr_text()
    time.sleep(0.05)
    write_app(app_dir, "v2")
    assert wait_restarts(srv, 1) == ["app/reload_app.py"]
    assert poll(lambda: version(srv) == "v2", 5)
    (app_dir / "helper.py").unlink()
    assert wait_restarts(srv, 2)[-1] == "app/helper.py"


class LowInotifyLimitServer(MasterServer):
    """asgid in a user namespace of its own, whose inotify limit is 3 watches."""

    def command(self) -> list[str]:
        return ["unshare", "--user", "--map-root-user", "sh", "-c",
                'echo 3 > /proc/sys/user/max_inotify_watches && exec "$@"', "sh",
                *super().command()]


def user_namespaces_work() -> bool:
    try:
        return subprocess.run(["unshare", "--user", "--map-root-user", "true"],
                              capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# A chroot (the Debian 13 CI root) refuses new user namespaces: there the lowered limit cannot
# be set up, and the Debian 12 run covers this test.
@pytest.mark.skipif(not user_namespaces_work(),
                    reason="unshare --user is not permitted here (e.g. inside a chroot)")
def test_inotify_exhaustion_says_so_once_and_falls_back_to_polling(tmp_path):
    app_dir = make_tree(tmp_path)
    for i in range(10):
        (app_dir / f"pkg{i}").mkdir()
    srv = LowInotifyLimitServer(APP, ("--reload", "--app-dir", str(app_dir), "--reload-delay",
                                      "0.1"), cwd=tmp_path)
    try:
        srv.start()
        err = srv.stderr_text()
        assert len(re.findall(r"inotify ran out of watches", err)) == 1, err
        assert "sysctl fs.inotify.max_user_watches=" in err, err
        assert "--reload: polling app every 1s" in err, err
        write_app(app_dir, "v2")
        assert wait_restarts(srv, 1) == ["app/reload_app.py"]
        assert poll(lambda: version(srv) == "v2", 5)
    finally:
        problems = srv.finish()
    assert not problems, problems


def test_a_changed_config_file_is_read_again(master, tmp_path):
    config = tmp_path / "asgid.yaml"
    config.write_text('headers: ["x-gen: 1"]\n')
    srv, app_dir = start(master, tmp_path, "--config", str(config))
    assert httpx.get(srv.url + "/", timeout=5).headers.get("x-gen") == "1"
    tmp = tmp_path / "asgid.yaml.new"
    tmp.write_text('headers: ["x-gen: 2"]\n')
    os.replace(tmp, config)
    assert wait_restarts(srv, 1) == ["asgid.yaml"]
    assert poll(lambda: httpx.get(srv.url + "/", timeout=5).headers.get("x-gen") == "2", 5)


def test_broken_app_at_start_waits_for_the_fix(master, tmp_path):
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "reload_app.py").write_text("def broken(:\n")
    srv = master(APP, "--reload", "--app-dir", str(app_dir), "--reload-delay", "0.1",
                 cwd=tmp_path, wait_ready=False, allow_tracebacks=True)
    assert srv.wait_stderr(r"waiting for a file change to retry", 15), srv.stderr_text()
    time.sleep(0.5)
    assert srv.proc.poll() is None, "the master exited"
    assert len(re.findall(r"SyntaxError", srv.stderr_text())) == 1, srv.stderr_text()
    write_app(app_dir, "v-fixed")
    srv.wait_ready()
    assert version(srv) == "v-fixed"


def test_reload_with_preload_is_refused(tmp_path):
    rc, err, _ = run_to_exit(["--reload", "--preload", APP], cwd=tmp_path)
    assert rc == 2 and "--reload cannot be used with --preload" in err, (rc, err)
