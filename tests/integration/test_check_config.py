"""--check-config (ok / every error, exit 0/1, for ExecStartPre=) and --print-config (YAML with
where each value came from, which --config loads back)."""

from __future__ import annotations

import re

import httpx

from support import free_port, run_cli


def test_check_config_ok(tmp_path):
    config = tmp_path / "asgid.yaml"
    config.write_text("app: hello_app:app\nport: 9000\n")
    rc, out, err = run_cli(["--check-config", "--config", config])
    assert (rc, out) == (0, "ok\n"), err
    assert "Listening" not in err


def test_check_config_reports_every_error_with_its_place(tmp_path):
    config = tmp_path / "asgid.yaml"
    config.write_text("app: hello_app:app\nprot: 80\nbacklog: lots\nworkers: 0\n")
    env_file = tmp_path / "app.env"
    env_file.write_text("A=1\nB='open\n")
    rc, out, err = run_cli(["--check-config", "--config", config, "--env-file", env_file,
                            "--timeout-send", "never", "--app-dir", tmp_path / "nowhere"],
                           env={"ASGID_LIMIT_CONCURRENCY": "-1"})
    assert rc == 1
    assert out == ""
    lines = err.splitlines()
    assert lines == [
        f"{config}:2:1: unknown key 'prot' (did you mean 'port'?)",
        f"{config}:3:10: backlog: 'lots' is not an integer",
        f"{config}:4:10: workers: 0 is out of range 1..512",
        "ASGID_LIMIT_CONCURRENCY: -1 is out of range (must be >= 0)",
        "--timeout-send: 'never' is not a number",
        f"{env_file}:2: the single-quoted value opened on line 2 is never closed",
    ], err
    # The directory check runs once the values are valid.
    rc, out, err = run_cli(["--check-config", "hello_app:app", "--app-dir", tmp_path / "nowhere"])
    assert rc == 1
    assert err == f"--app-dir: '{tmp_path}/nowhere' does not exist\n"


def test_check_config_reports_yaml_syntax_errors_and_unknown_flags(tmp_path):
    config = tmp_path / "asgid.yaml"
    config.write_text("app: hello_app:app\nheaders: [unterminated\n")
    rc, out, err = run_cli(["--check-config", "--config", config, "--prot", "1", "--wrokers",
                            "2"])
    assert rc == 1
    assert "unknown option '--prot' (did you mean '--port'?)" in err
    assert "unknown option '--wrokers' (did you mean '--workers'?)" in err
    rc, out, err = run_cli(["--check-config", "--config", config])
    assert rc == 1
    assert re.match(re.escape(str(config)) + r":\d+:\d+: ", err), err


def test_check_config_prints_notices_but_succeeds():
    rc, out, err = run_cli(["--check-config", "hello_app:app", "--loop", "uvloop"])
    assert (rc, out) == (0, "ok\n"), err
    assert err.startswith("notice: --loop (from --loop): asgid runs each worker"), err


def test_print_config_names_the_sources(tmp_path):
    config = tmp_path / "asgid.yaml"
    config.write_text("app: hello_app:app\nport: 9000\nheaders:\n  - 'X-A: 1'\n")
    rc, out, err = run_cli(["--print-config", "--config", config, "--workers", "3"],
                           env={"ASGID_BACKLOG": "128", "WEB_CONCURRENCY": ""})
    assert rc == 0, err
    assert f"\napp: hello_app:app  # {config}:1\n" in out
    assert f"\nport: 9000  # {config}:2\n" in out
    assert f"\nheaders:  # {config}:3\n  - \"X-A: 1\"\n" in out
    assert "\nworkers: 3  # --workers\n" in out
    assert "\nbacklog: 128  # ASGID_BACKLOG\n" in out
    assert "\nhost: 127.0.0.1  # default\n" in out


def test_print_config_loads_back_and_serves_the_same(server, tmp_path):
    port = free_port()
    rc, printed, err = run_cli(["--print-config", "hello_app:app", "--port", port,
                                "--header", "X-Round: trip, with \"quotes\" # and a hash",
                                "--no-server-header", "--timeout-keep-alive", "2.5"])
    assert rc == 0, err
    saved = tmp_path / "printed.yaml"
    saved.write_text(printed)
    rc, again, err = run_cli(["--print-config", "--config", saved])
    assert rc == 0, err

    def values(text):  # the YAML without the source comments
        return [re.sub(r"  # .*$", "", line) for line in text.splitlines()
                if line and not line.startswith("#")]
    assert values(again) == values(printed)
    srv = server(None, "--config", saved, port=None)
    r = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
    assert r.headers["x-round"] == 'trip, with "quotes" # and a hash'
    assert "server" not in r.headers
