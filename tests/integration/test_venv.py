"""--venv: the app sees the packages of a virtualenv made with the Python asgid embeds."""

import os
import subprocess

import httpx
import pytest

from support import free_port, run_cli

VENV_PACKAGE = "tomli==2.0.1"  # pure Python, tiny, and not in Debian's system site-packages


@pytest.fixture(scope="session")
def made_venv(tmp_path_factory):
    """A plain venv (no system site-packages) with one package from PyPI. If making it fails,
    the tests fail: nothing here is skipped."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True, timeout=120,
                   capture_output=True)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                          VENV_PACKAGE], capture_output=True, text=True, timeout=180)
    assert pip.returncode == 0, f"pip install {VENV_PACKAGE} failed:\n{pip.stderr[-3000:]}"
    return str(venv)


def query(srv):
    r = httpx.get(srv.url + "/", timeout=5)
    assert r.status_code == 200
    return r.json()


def test_venv_flag_makes_package_importable(server, made_venv):
    srv = server("venv_app:app", "--venv", made_venv, env={"VIRTUAL_ENV": None})
    body = query(srv)
    assert body["tomli"].get("ok") is True, body
    assert os.path.realpath(body["tomli"]["file"]).startswith(os.path.realpath(made_venv))
    assert os.path.realpath(body["prefix"]) == os.path.realpath(made_venv)


def test_virtual_env_variable_is_the_default(server, made_venv):
    srv = server("venv_app:app", env={"VIRTUAL_ENV": made_venv})
    body = query(srv)
    assert body["tomli"].get("ok") is True, body


def test_without_venv_the_package_is_missing(server, made_venv):
    srv = server("venv_app:app", env={"VIRTUAL_ENV": None})
    body = query(srv)
    assert body["tomli"] == {"missing": "tomli"}


def test_app_importing_a_missing_package_fails_startup(made_venv):
    rc, out, err = run_cli(["--port", free_port(), "venv_import_app:app"],
                           env={"VIRTUAL_ENV": None})
    assert rc != 0
    assert "tomli" in err, err[-2000:]
    assert "Listening on" not in err


def test_app_importing_the_package_starts_with_venv(server, made_venv):
    srv = server("venv_import_app:app", "--venv", made_venv, env={"VIRTUAL_ENV": None})
    assert httpx.get(srv.url + "/", timeout=5).text == "imported"


def test_nonexistent_venv_is_an_error(tmp_path):
    missing = tmp_path / "no-such-venv"
    rc, out, err = run_cli(["--port", free_port(), "--venv", missing, "venv_app:app"],
                           env={"VIRTUAL_ENV": None})
    assert rc != 0
    assert str(missing) in err + out
