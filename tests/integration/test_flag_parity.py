"""Every flag of the pinned uvicorn's --help is accepted by asgid, or is on a documented list;
uvicorn's flags that mean nothing to asgid are accepted with a notice; and what
--reset-contextvars is about (context seen by requests) is what the notice says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from support import run_cli

# uvicorn's TLS and HTTP/2 flags: refused until asgid has TLS (docs/configuration.md).
REFUSED = {
    "--ssl-keyfile", "--ssl-certfile", "--ssl-keyfile-password", "--ssl-version",
    "--ssl-cert-reqs", "--ssl-ca-certs", "--ssl-ciphers", "--http2",
}

# A valid value for the flags whose metavar alone does not give one.
VALUES = {
    "--uds": "/tmp/asgid-parity.sock",
    "--header": "X-Parity: 1",
    "--interface": "asgi3",
    "--app-dir": ".",
    "--reload-dir": ".",
    "--fd": "3",
    "--root-path": "/prefix",
    "--host": "127.0.0.1",
    "--forwarded-allow-ips": "127.0.0.1,10.0.0.0/8",
}

OPTION_RE = re.compile(r"^  (--[a-z0-9-]+)(?: / (--[a-z0-9-]+))?(?: ([A-Z]+|\[[^\]]+\]))?",
                       re.M)


def uvicorn_help() -> str:
    uvicorn = Path(sys.executable).with_name("uvicorn")
    if not uvicorn.exists():
        pytest.skip(f"no uvicorn next to {sys.executable}")
    return subprocess.run([str(uvicorn), "--help"], capture_output=True, text=True,
                          check=True, timeout=30).stdout


def uvicorn_flags() -> list[tuple[str, str | None]]:
    """(flag, metavar) for every option uvicorn --help lists, the --no- forms included."""
    flags = []
    for m in OPTION_RE.finditer(uvicorn_help()):
        flag, negative, metavar = m.groups()
        flags.append((flag, metavar))
        if negative:
            flags.append((negative, None))
    return flags


def value_for(flag: str, metavar: str | None) -> list[str]:
    if metavar is None:
        return []
    if flag in VALUES:
        return [VALUES[flag]]
    if metavar.startswith("["):
        return [metavar[1:-1].split("|")[0]]
    return {"INTEGER": ["1"], "FLOAT": ["1.5"], "BOOLEAN": ["true"], "PATH": ["."],
            "TEXT": ["x"]}[metavar]


def test_the_help_parser_finds_uvicorns_flags():
    flags = dict(uvicorn_flags())
    assert len(flags) > 50, sorted(flags)
    assert flags["--port"] == "INTEGER"
    assert flags["--loop"].startswith("[auto|")
    assert "--no-access-log" in flags and "--reset-contextvars" in flags


def test_every_uvicorn_flag_is_accepted_or_documented(tmp_path):
    env_file = tmp_path / "parity.env"
    env_file.write_text("PARITY=1\n")
    log_config = tmp_path / "logging.json"
    log_config.write_text('{"version": 1}\n')
    files = {"--env-file": [str(env_file)], "--log-config": [str(log_config)]}
    problems = []
    for flag, metavar in uvicorn_flags():
        if flag in REFUSED or flag in ("--help", "--version"):
            continue
        value = files.get(flag) or value_for(flag, metavar)
        rc, out, err = run_cli(["--check-config", "hello_app:app", flag, *value])
        if rc != 0 or out != "ok\n":
            problems.append(f"{flag} {' '.join(value)}: exit {rc}: {err.strip()}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("flag", sorted(REFUSED))
def test_listed_flags_are_refused_plainly(flag):
    rc, out, err = run_cli(["--check-config", "hello_app:app", flag, "x"])
    assert rc == 1
    assert f"option '{flag}' (a uvicorn option) is not supported by asgid yet" in err, err


def test_help_and_version_work_as_with_uvicorn():
    assert run_cli(["--help"])[0] == 0
    assert run_cli(["--version"])[0] == 0


def test_ignored_flags_log_a_notice_at_startup(server):
    srv = server("hello_app:app", "--loop", "uvloop", "--http", "httptools", "--interface",
                 "asgi3", "--h11-max-incomplete-event-size", "16384", "--reset-contextvars")
    for pattern in (r"--loop \(from --loop\): asgid runs each worker",
                    r"--http \(from --http\): asgid has its own HTTP/1.1",
                    r"--interface \(from --interface\): asgid serves ASGI 3",
                    r"--h11-max-incomplete-event-size .*sets --limit-request-headers-size",
                    r"--reset-contextvars .*asgid always does this"):
        assert srv.wait_stderr(pattern, 5), srv.stderr_text()
    # --h11-max-incomplete-event-size really is the head-size limit: a head over it gets 431.
    r = httpx.get(srv.url + "/", headers={"x-big": "a" * 20000}, timeout=5)
    assert r.status_code == 431
    assert httpx.get(srv.url + "/", timeout=5).status_code == 200


@pytest.mark.parametrize("interface,adapter", [("asgi2", "guarantee_single_callable"),
                                               ("wsgi", "WSGIMiddleware")])
def test_interface_other_than_asgi3_is_a_clear_error(interface, adapter):
    rc, out, err = run_cli(["--interface", interface, "hello_app:app"])
    assert rc == 2
    assert "--interface: asgid serves ASGI 3 applications only" in err and adapter in err, err


def test_each_request_gets_a_fresh_context_that_hides_the_lifespans(server):
    # What --reset-contextvars asks uvicorn for is what asgid always does, as its notice says:
    # one request's ContextVar.set never reaches the next (even on the same keep-alive
    # connection), and what lifespan startup set is not visible to requests (the lifespan runs
    # in a task of its own).
    srv = server("contextvars_app:app", "--lifespan", "on")
    with httpx.Client(timeout=5) as client:
        answers = [client.get(srv.url + "/").text for _ in range(3)]
    answers.append(httpx.get(srv.url + "/", timeout=5).text)  # a new connection
    assert answers == ["unset|unset"] * 4, answers
