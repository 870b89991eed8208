"""--env-file: the app's os.environ holds the file's variables (python-dotenv's syntax and
load_dotenv's precedence), a HUP after editing the file gives new workers the new values, and a
malformed line stops the start with file:line."""

from __future__ import annotations

import signal

import httpx
import pytest

from master_support import (atomic_write, read_pid_file, set_child_subreaper,
                            wait_worker_count)
from master_support import master  # noqa: F401 - the fixture
from support import APPS, poll, run_cli
from test_master_reload import wait_new_generation

ENV_APP = "env_app:app"


def env_of(srv, name: str) -> str:
    r = httpx.get(srv.url + "/env", params={"name": name}, timeout=5)
    assert r.status_code == 200
    return r.text


def test_app_sees_the_env_file_variables(server, tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text(
        "# settings for the app\n"
        "export PLAIN=plain value # a comment\n"
        "SINGLE='literal ${PLAIN} \\n'\n"
        'DOUBLE="two\\nlines"\n'
        "EXPANDED=${PLAIN}/${FROM_ENV}/${MISSING:-fallback}\n"
        "KEEP=from-file\n"
        "ALONE\n")
    srv = server(ENV_APP, "--env-file", env_file,
                 env={"FROM_ENV": "real", "KEEP": "from-environment"})
    assert env_of(srv, "PLAIN") == "plain value"
    assert env_of(srv, "SINGLE") == "literal ${PLAIN} \\n"
    assert env_of(srv, "DOUBLE") == "two\nlines"
    assert env_of(srv, "EXPANDED") == "plain value/real/fallback"
    assert env_of(srv, "KEEP") == "from-environment", "the environment wins, as load_dotenv"
    assert env_of(srv, "ALONE") == "<unset>"
    assert srv.wait_stderr(r"Loading environment from '.*app\.env': 4 variable", 5)


def test_env_file_from_the_yaml_config(server, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("FROM_YAML_ENV_FILE=yes\n")
    config = tmp_path / "asgid.yaml"
    config.write_text(f"env_file: {env_file}\n")
    srv = server(ENV_APP, "--config", config)
    assert env_of(srv, "FROM_YAML_ENV_FILE") == "yes"


def test_hup_after_editing_the_env_file_gives_new_workers_the_new_values(master, tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text("GENERATION=1\nREMOVED_LATER=here\n")
    srv = master(ENV_APP, "--workers", "2", "--env-file", env_file)
    old = set(wait_worker_count(srv.pid, 2))
    assert env_of(srv, "GENERATION") == "1"
    atomic_write(env_file, "GENERATION=2\n")
    srv.signal(signal.SIGHUP)
    wait_new_generation(srv, old, 2)
    assert {env_of(srv, "GENERATION") for _ in range(10)} == {"2"}
    # Not in the file any more: gone, although the master once read it.
    assert {env_of(srv, "REMOVED_LATER") for _ in range(10)} == {"<unset>"}


def test_hup_with_a_broken_env_file_keeps_the_workers(master, tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text("GENERATION=1\n")
    srv = master(ENV_APP, "--workers", "1", "--env-file", env_file)
    old = set(wait_worker_count(srv.pid, 1))
    mark = len(srv.stderr_text())
    atomic_write(env_file, "GENERATION='never closed\n")
    srv.signal(signal.SIGHUP)
    assert srv.wait_stderr(r"Reload failed: .*app\.env:1: the single-quoted value", 5, start=mark)
    assert set(wait_worker_count(srv.pid, 1)) == old
    assert env_of(srv, "GENERATION") == "1"


def test_malformed_line_stops_the_start_naming_file_and_line(tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text("GOOD=1\nBAD=\"quoted\" trailing\n=novalue\n")
    rc, out, err = run_cli(["--env-file", env_file, ENV_APP])
    assert rc == 2, err
    assert f"asgid: {env_file}:2: unexpected 'trailing' after the value" in err, err
    assert f"asgid: {env_file}:3: expected NAME=value" in err, err
    assert "Listening on" not in err


def test_missing_env_file_is_an_error(tmp_path):
    rc, out, err = run_cli(["--env-file", tmp_path / "none.env", ENV_APP])
    assert rc == 2
    assert "cannot open env file" in err and "No such file or directory" in err, err


def test_preload_imports_the_app_with_the_env_file_variables(master, tmp_path):
    # With --preload the master imports the app, so the variables must be in place there.
    env_file = tmp_path / "app.env"
    env_file.write_text("PRELOADED=yes\n")
    srv = master(ENV_APP, "--workers", "2", "--preload", "--env-file", env_file)
    wait_worker_count(srv.pid, 2)
    assert {env_of(srv, "PRELOADED") for _ in range(6)} == {"yes"}


def test_reload_watches_the_env_file(master, tmp_path):
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "env_app.py").write_text((APPS / "env_app.py").read_text())
    env_file = tmp_path / "app.env"
    env_file.write_text("GENERATION=1\n")
    srv = master(ENV_APP, "--reload", "--app-dir", app_dir, "--reload-delay", "0.1",
                 "--env-file", env_file, cwd=tmp_path)
    assert env_of(srv, "GENERATION") == "1"
    atomic_write(env_file, "GENERATION=2\n")
    assert srv.wait_stderr(r"Reloading: .*app\.env", 10), srv.stderr_text()[-2000:]
    assert poll(lambda: env_of(srv, "GENERATION") == "2", 10)


@pytest.mark.parametrize("preload", [False, True])
def test_usr2_upgrade_reads_the_edited_env_file_over_the_real_environment(master, tmp_path,
                                                                          preload):
    # The new master is exec'd from the old one: it must not inherit the variables as if they
    # were the real environment (which the env file never overrides), even when the old
    # master put them into its own environment for --preload.
    set_child_subreaper(True)
    try:
        env_file = tmp_path / "app.env"
        env_file.write_text("GENERATION=1\n")
        pid_file = tmp_path / "asgid.pid"
        srv = master(ENV_APP, "--pid", pid_file, "--env-file", env_file,
                     *(["--preload"] if preload else []))
        srv.adopted = True
        old_master = srv.pid
        wait_worker_count(old_master, 1)
        assert env_of(srv, "GENERATION") == "1"
        atomic_write(env_file, "GENERATION=2\n")
        srv.signal(signal.SIGUSR2)
        new_master = poll(lambda: (lambda p: p if p and p != old_master else None)(
            read_pid_file(pid_file)), 20)
        assert new_master, srv.stderr_text()[-3000:]
        srv.other_masters.append(new_master)
        assert srv.wait_exit(20) == 0
        wait_worker_count(new_master, 1)
        assert env_of(srv, "GENERATION") == "2"
    finally:
        set_child_subreaper(False)
