"""The command line, the YAML config, ASGID_* variables, app loading and the logs."""

import json
import re
import time

import httpx
import pytest

from support import APPS, RawConnection, free_port, run_cli

ALL_FLAGS = [
    "--host", "--port", "--uds", "--app-dir", "--factory", "--lifespan", "--log-level",
    "--access-log", "--no-access-log", "--timeout-keep-alive", "--timeout-request-header",
    "--timeout-graceful-shutdown", "--root-path", "--limit-concurrency", "--backlog",
    "--header", "--server-header", "--no-server-header", "--date-header", "--no-date-header",
    "--venv", "--config", "--limit-request-line", "--limit-request-fields",
    "--limit-request-field-size", "--limit-request-headers-size", "--version", "--help",
]


def test_version():
    rc, out, err = run_cli(["--version"])
    assert rc == 0
    assert re.search(r"^asgid \d+\.\d+(\.\d+)?", out, re.M), out + err


def test_help_mentions_every_flag():
    rc, out, err = run_cli(["--help"])
    assert rc == 0
    missing = [f for f in ALL_FLAGS if not re.search(re.escape(f) + r"(?![\w-])", out)]
    assert not missing, f"--help does not mention {missing}"


@pytest.mark.parametrize("flag,value", [
    ("--port", "abc"), ("--port", "70000"), ("--timeout-keep-alive", "soon"),
    ("--lifespan", "sometimes"), ("--limit-concurrency", "many"), ("--log-level", "loud"),
])
def test_bad_value_names_the_flag(flag, value):
    rc, out, err = run_cli([flag, value, "hello_app:app"])
    assert rc != 0
    assert flag in err, err[-2000:]
    assert "Traceback" not in err
    assert "Listening on" not in err


def test_unknown_option_is_named():
    rc, out, err = run_cli(["--no-such-option", "hello_app:app"])
    assert rc != 0
    assert "--no-such-option" in err, err[-2000:]


def test_yaml_config_sets_port_and_other_keys(server, tmp_path):
    port = free_port()
    cfg = tmp_path / "asgid.yaml"
    cfg.write_text(f"host: 127.0.0.1\nport: {port}\nserver_header: false\n"
                   "timeout_keep_alive: 1\n")
    srv = server("hello_app:app", "--config", cfg, port=None)
    assert str(port) in srv.listen_address
    r = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
    assert r.text == "hello"
    assert "server" not in r.headers


def test_command_line_overrides_yaml(server, tmp_path):
    yaml_port, cli_port = free_port(), free_port()
    cfg = tmp_path / "asgid.yaml"
    cfg.write_text(f"port: {yaml_port}\n")
    srv = server("hello_app:app", "--config", cfg, "--port", cli_port, port=None)
    assert str(cli_port) in srv.listen_address
    assert httpx.get(f"http://127.0.0.1:{cli_port}/", timeout=5).text == "hello"


def test_environment_variable_sets_port(server):
    port = free_port()
    srv = server("hello_app:app", port=None, env={"ASGID_PORT": str(port)})
    assert str(port) in srv.listen_address
    assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text == "hello"


@pytest.mark.parametrize("text,line,word", [
    ("host: 127.0.0.1\nport: 8000\nportt: 9000\n", 3, "portt"),
    ("host: 127.0.0.1\nport: abc\n", 2, "port"),
    ("host: 127.0.0.1\nlimit_concurrency: [1, 2\nport: 1\n", None, None),
], ids=["unknown-key", "bad-type", "syntax-error"])
def test_yaml_error_names_file_and_line(tmp_path, text, line, word):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    rc, out, err = run_cli(["--config", cfg, "hello_app:app"])
    assert rc != 0
    if line is None:
        assert re.search(re.escape(str(cfg)) + r":\d+", err), err[-2000:]
    else:
        # Lines counted from 1, as editors do.
        assert re.search(re.escape(str(cfg)) + f":{line}(?!\\d)", err), err[-2000:]
        assert word in err
    assert "Traceback" not in err


def test_missing_config_file_is_named(tmp_path):
    missing = tmp_path / "nope.yaml"
    rc, out, err = run_cli(["--config", missing, "hello_app:app"])
    assert rc != 0
    assert str(missing) in err


def test_unix_socket(server, tmp_path):
    path = str(tmp_path / "asgid.sock")
    srv = server("hello_app:app", "--uds", path, port=None)
    assert path in srv.stderr_text()
    with httpx.Client(transport=httpx.HTTPTransport(uds=path), timeout=5) as client:
        for _ in range(3):
            r = client.get("http://localhost/")
            assert r.status_code == 200 and r.text == "hello"
    with RawConnection(uds=path) as conn:
        conn.request("GET", "/", headers=[("Connection", "close")])
        assert conn.read_response().body == b"hello"


@pytest.mark.parametrize("spec,name", [
    ("no_such_module_xyz:app", "no_such_module_xyz"),
    ("hello_app:no_such_attr", "no_such_attr"),
])
def test_missing_module_or_attribute(spec, name):
    rc, out, err = run_cli(["--port", free_port(), spec])
    assert rc != 0
    assert name in err, err[-2000:]
    assert "Traceback" not in err


def test_factory(server):
    srv = server("factory_app:create_app", "--factory")
    assert httpx.get(srv.url + "/", timeout=5).text == "from factory"


def test_app_dir(server, tmp_path):
    srv = server("hello_app:app", "--app-dir", APPS, cwd=tmp_path)
    assert httpx.get(srv.url + "/", timeout=5).text == "hello"


def test_access_log_line(server):
    srv = server("response_app:app")
    r = httpx.get(srv.url + "/big?n=1234", timeout=5)
    assert r.status_code == 200
    m = srv.wait_stdout(r"[^\n]*/big[^\n]*\n", 5)
    assert m, f"no access log line on stdout: {srv.stdout_text()[-1000:]!r}"
    line = m.group(0)
    assert "127.0.0.1" in line
    assert "GET" in line
    assert re.search(r"\b200\b", line)
    numbers = [int(n) for n in re.findall(r"(?<![\d.])\d+(?![\d.])", line)]
    assert any(1234 <= n <= 1234 + 2000 for n in numbers), f"no byte count in {line!r}"
    assert re.search(r"\d+\.\d+|\d+ ?(ms|us|µs|s)\b", line), f"no duration in {line!r}"
    assert "/big" not in srv.stderr_text(), "access log written to stderr"


def test_no_access_log(server):
    srv = server("response_app:app", "--no-access-log")
    assert httpx.get(srv.url + "/cl?marker=unlogged", timeout=5).status_code == 200
    time.sleep(0.5)
    assert "unlogged" not in srv.stdout_text() + srv.stderr_text()


def test_ipv6_loopback(server):
    srv = server("scope_app:app", "--host", "::1")
    with RawConnection(srv.port, host="::1") as conn:
        conn.request("GET", "/", headers=[("Connection", "close")])
        scope = json.loads(conn.read_response().body)
    assert scope["server"] == ["::1", srv.port]
    assert scope["client"][0] == "::1"


def test_backlog_and_log_level_accepted(server):
    srv = server("hello_app:app", "--backlog", "16", "--log-level", "debug")
    assert httpx.get(srv.url + "/", timeout=5).text == "hello"


def test_listening_line_names_the_address(server):
    srv = server("hello_app:app")
    assert srv.listen_address == f"http://127.0.0.1:{srv.port}"


def test_port_zero_picks_a_free_port_and_says_which(server):
    srv = server("hello_app:app", "--port", "0", port=None)
    m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)", srv.listen_address)
    assert m, srv.listen_address
    port = int(m.group(1))
    assert port != 0
    assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text == "hello"
