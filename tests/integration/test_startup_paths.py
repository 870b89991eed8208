"""The paths a worker needs (--venv, --app-dir, --chdir) are checked by the master before it
forks, as the user the workers will run as: a bad one is a configuration error (exit 2) that
says what is wrong (missing, not a virtualenv, permission denied for user X). An app whose
import misses a package while no virtualenv is in use gets a hint at --venv."""

import os
import shutil
import tempfile
from pathlib import Path

import httpx
import pytest

from support import free_port, run_cli

needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="starts asgid as root with --user nobody: needs root")


def fake_venv(path: Path, package: str | None = None) -> Path:
    """What the checks look at: a pyvenv.cfg, and a package in a site-packages."""
    (path / "lib" / "python3" / "site-packages").mkdir(parents=True)
    (path / "pyvenv.cfg").write_text("home = /usr/bin\n")
    if package:
        package_dir = path / "lib" / "python3" / "site-packages" / package
        package_dir.mkdir()
        (package_dir / "__init__.py").write_text("")
    return path


def start(*args, **kw):
    return run_cli(["--port", free_port(), *args], **kw)


def test_missing_venv_is_a_config_error(tmp_path):
    missing = tmp_path / "no-such-venv"
    rc, out, err = start("--venv", missing, "hello_app:app", env={"VIRTUAL_ENV": None})
    assert rc == 2, err[-2000:]
    assert f"--venv: '{missing}' does not exist" in err, err[-2000:]
    assert "Booting" not in err and "Listening on" not in err


def test_directory_without_pyvenv_cfg_is_a_config_error(tmp_path):
    rc, out, err = start("--venv", tmp_path, "hello_app:app", env={"VIRTUAL_ENV": None})
    assert rc == 2, err[-2000:]
    assert f"--venv: '{tmp_path}' is not a virtualenv (no pyvenv.cfg)" in err, err[-2000:]


def test_bad_virtual_env_variable_is_a_config_error_too(tmp_path):
    missing = tmp_path / "gone"
    rc, out, err = start("hello_app:app", env={"VIRTUAL_ENV": str(missing)})
    assert rc == 2, err[-2000:]
    assert f"'{missing}' does not exist" in err, err[-2000:]


def test_missing_app_dir_is_an_error_of_its_own(tmp_path):
    missing = tmp_path / "src"
    rc, out, err = start("--app-dir", missing, "hello_app:app")
    assert rc == 2, err[-2000:]
    assert f"--app-dir: '{missing}' does not exist" in err, err[-2000:]
    assert "could not import" not in err


@pytest.fixture
def private_dir():
    """A root-owned 0700 directory, like a clone in /root: nobody cannot reach below it."""
    base = Path(tempfile.mkdtemp(prefix="asgid-private-"))
    os.chmod(base, 0o700)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@needs_root
def test_venv_unreadable_by_the_user_says_permission_denied(private_dir):
    venv = fake_venv(private_dir / ".venv")
    rc, out, err = start("--user", "nobody", "--venv", venv, "hello_app:app",
                         env={"VIRTUAL_ENV": None})
    assert rc == 2, err[-2000:]
    assert f"--venv: '{venv}' is not readable by user nobody (permission denied)" in err, \
        err[-2000:]
    assert "not a virtualenv" not in err


@needs_root
def test_app_dir_unreadable_by_the_user_says_permission_denied(private_dir):
    (private_dir / "app.py").write_text("async def app(scope, receive, send):\n    pass\n")
    rc, out, err = start("--user", "nobody", "app:app", cwd=private_dir)
    assert rc == 2, err[-2000:]
    assert f"--app-dir: '{private_dir}' is not readable by user nobody (permission denied)" \
        in err, err[-2000:]


@needs_root
def test_check_config_checks_as_the_user(private_dir):
    # Run as root (as ExecStartPre= is), --check-config still sees what nobody cannot read.
    venv = fake_venv(private_dir / ".venv")
    rc, out, err = run_cli(["--check-config", "--user", "nobody", "--venv", venv,
                            "hello_app:app"], env={"VIRTUAL_ENV": None})
    assert rc == 1
    assert err == f"--venv: '{venv}' is not readable by user nobody (permission denied)\n"
    rc, out, err = run_cli(["--check-config", "--venv", venv, "hello_app:app"],
                           env={"VIRTUAL_ENV": None})
    assert (rc, out) == (0, "ok\n"), err
    rc, out, err = run_cli(["--check-config", "--user", "no-such-user-here", "hello_app:app"])
    assert rc == 1
    assert "--user no-such-user-here: no such user" in err


@needs_root
def test_readable_venv_passes_the_check_as_the_user(server):
    base = Path(tempfile.mkdtemp(prefix="asgid-public-"))
    try:
        os.chmod(base, 0o755)
        venv = fake_venv(base / ".venv")
        srv = server("hello_app:app", "--user", "nobody", "--venv", venv,
                     env={"VIRTUAL_ENV": None})
        assert httpx.get(srv.url + "/", timeout=5).text == "hello"
    finally:
        shutil.rmtree(base, ignore_errors=True)


MISSING_PACKAGE_APP = """import asgid_hint_pkg  # noqa: F401


async def app(scope, receive, send):
    pass
"""


def test_package_missing_but_in_dot_venv_hints_at_venv_flag(tmp_path):
    (tmp_path / "needs_pkg.py").write_text(MISSING_PACKAGE_APP)
    venv = fake_venv(tmp_path / ".venv", "asgid_hint_pkg")
    rc, out, err = start("needs_pkg:app", cwd=tmp_path, env={"VIRTUAL_ENV": None})
    assert rc != 0
    assert "ModuleNotFoundError" in err, err[-2000:]
    assert (f"Hint: 'asgid_hint_pkg' is installed in {venv}, which asgid does not use unless "
            f"told: pass --venv {venv}") in err, err[-2000:]


def test_package_missing_without_any_venv_hints_at_venv_flag(tmp_path):
    (tmp_path / "needs_pkg.py").write_text(MISSING_PACKAGE_APP)
    rc, out, err = start("needs_pkg:app", cwd=tmp_path, env={"VIRTUAL_ENV": None})
    assert rc != 0
    assert ("Hint: no virtualenv in use (no --venv, $VIRTUAL_ENV unset): if 'asgid_hint_pkg' "
            "is installed in one, pass --venv PATH") in err, err[-2000:]


def test_package_missing_with_a_venv_gets_no_hint(tmp_path):
    (tmp_path / "needs_pkg.py").write_text(MISSING_PACKAGE_APP)
    venv = fake_venv(tmp_path / "env")
    fake_venv(tmp_path / ".venv", "asgid_hint_pkg")
    rc, out, err = start("--venv", venv, "needs_pkg:app", cwd=tmp_path,
                         env={"VIRTUAL_ENV": None})
    assert rc != 0
    assert "ModuleNotFoundError" in err, err[-2000:]
    assert "Hint:" not in err
