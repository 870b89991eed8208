"""Logging: Python logging routed into asgid's error log, --log-format json, colours only on a
terminal, journald priority prefixes, --log-config, SIGUSR1 for all of them."""

import json
import os
import pty
import re
import select
import signal
import subprocess
import time
import urllib.request

import pytest

from support import APPS, ASGID_BIN, free_port, server_env, wait_for_file

ESC = "\x1b["


def get(port: int, path: str = "/") -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.read()


def wait_http(port: int, timeout: float = 15.0):
    """Readiness without the "Listening on" line (hidden by --log-level warning)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return get(port, "/")
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def json_lines(text: str) -> list[dict]:
    """Every line must be a JSON object: a traceback split across lines fails here."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# ---- Python logging -----------------------------------------------------------------------


def test_python_records_reach_the_error_log_with_level_and_logger(server):
    srv = server("logging_app:app")
    assert srv.wait_stderr(r"\[info\] \[logapp\] imported logging_app")
    assert get(srv.port, "/warning") == b"ok"
    assert get(srv.port, "/info") == b"ok"
    assert get(srv.port, "/debug") == b"ok"
    assert srv.wait_stderr(r"\[warning\] \[logapp\.views\] a warning record from /warning")
    assert srv.wait_stderr(r"\[info\] \[logapp\.views\] a info record from /info")
    srv.wait_stdout(r'"GET /debug HTTP/1\.1" 200')
    assert "debug record" not in srv.stderr_text()  # --log-level info


def test_log_level_warning_drops_info_records(server):
    srv = server("logging_app:app", "--log-level", "warning", wait_ready=False)
    wait_http(srv.port)
    get(srv.port, "/info")
    get(srv.port, "/error")
    assert srv.wait_stderr(r"\[error\] \[logapp\.views\] a error record from /error")
    assert "info record" not in srv.stderr_text()
    assert "imported logging_app" not in srv.stderr_text()


def test_log_level_debug_lets_debug_records_through(server):
    srv = server("logging_app:app", "--log-level", "debug")
    get(srv.port, "/debug")
    assert srv.wait_stderr(r"\[debug\] \[logapp\.views\] a debug record from /debug")


def test_exception_traceback_follows_the_record_in_text(server):
    srv = server("logging_app:app", allow_tracebacks=True)
    get(srv.port, "/exception")
    m = srv.wait_stderr(r"\[error\] \[logapp\.views\] division failed\nTraceback \(most recent "
                        r"call last\):\n(.*\n)*?ZeroDivisionError: division by zero")
    assert m


def test_print_is_unbuffered_without_pythonunbuffered(server):
    srv = server("logging_app:app", env={"PYTHONUNBUFFERED": None})
    get(srv.port, "/print")
    # The server is still running: nothing waits for an exit flush.
    assert srv.wait_stdout("printed to stdout", timeout=3)
    assert srv.wait_stderr("printed to stderr", timeout=3)


# ---- --log-format json --------------------------------------------------------------------


def test_json_lines_parse_and_a_traceback_is_one_line(server):
    srv = server("logging_app:app", "--log-format", "json", allow_tracebacks=True)
    get(srv.port, "/exception")
    get(srv.port, "/warning")
    srv.wait_stderr(r'"message":"a warning record')
    records = json_lines(srv.stderr_text())
    failed = [r for r in records if r["message"] == "division failed"]
    assert len(failed) == 1
    record = failed[0]
    assert record["level"] == "error"
    assert record["logger"] == "logapp.views"
    assert record["worker"] == 1
    assert isinstance(record["pid"], int) and record["pid"] != srv.pid
    assert record["exception"].startswith("Traceback (most recent call last):\n")
    assert record["exception"].endswith("ZeroDivisionError: division by zero")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", record["ts"])
    # asgid's own lines: logger "asgid", no exception; the master's have no worker.
    listening = [r for r in records if r["message"].startswith("Listening on")]
    assert listening and listening[0]["logger"] == "asgid"
    assert listening[0]["worker"] is None and listening[0]["exception"] is None
    assert listening[0]["pid"] == srv.pid


def test_json_app_error_traceback_stays_in_one_line(server):
    """The 500 path: asgid's own record with a traceback."""
    srv = server("errors_app:app", "--log-format", "json", allow_tracebacks=True)
    with pytest.raises(urllib.error.HTTPError):
        get(srv.port, "/raise_before")
    srv.wait_stderr(r"Traceback", timeout=5)
    time.sleep(0.2)
    for record in json_lines(srv.stderr_text()):
        assert set(record) == {"ts", "level", "pid", "worker", "logger", "message", "exception"}


# ---- colours ------------------------------------------------------------------------------


def run_on_pty(args: list[str], port: int, extra_env=None) -> str:
    """Runs asgid with stdout and stderr on a terminal, makes one request, stops it, and
    returns what the terminal showed."""
    main, child = pty.openpty()
    proc = subprocess.Popen([ASGID_BIN, "--port", str(port), *args, "logging_app:app"],
                            cwd=APPS, env=server_env(extra_env), stdin=subprocess.DEVNULL,
                            stdout=child, stderr=child, start_new_session=True)
    os.close(child)
    output = b""
    requested = False
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:
                    break
                output += chunk
            if not requested and b"Listening on" in output:
                get(port, "/warning")
                requested = True
            if requested and b"GET /warning" in output and b"warning record" in output:
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        os.close(main)
    return output.decode(errors="replace")


def test_colours_on_a_terminal():
    text = run_on_pty([], free_port())
    assert f"[{ESC}33mwarning{ESC}0m] [logapp.views] a warning record" in text
    assert f"[{ESC}32minfo{ESC}0m]" in text
    assert f'"GET /warning HTTP/1.1" {ESC}32m200{ESC}0m' in text


def test_no_use_colors_on_a_terminal():
    text = run_on_pty(["--no-use-colors"], free_port())
    assert "warning record" in text
    assert ESC not in text


def test_no_colours_on_pipes_unless_asked(server):
    srv = server("logging_app:app")
    get(srv.port, "/warning")
    srv.wait_stderr("warning record")
    srv.wait_stdout("GET /warning")
    assert ESC not in srv.stderr_text() and ESC not in srv.stdout_text()
    forced = server("logging_app:app", "--use-colors")
    get(forced.port, "/warning")
    assert forced.wait_stderr(re.escape(f"[{ESC}33mwarning{ESC}0m]"))


def test_never_colours_in_files_even_when_asked(tmp_path):
    error_log = tmp_path / "error.log"
    access_log = tmp_path / "access.log"
    port = free_port()
    proc = subprocess.Popen(
        [ASGID_BIN, "--port", str(port), "--use-colors", "--error-logfile", str(error_log),
         "--access-logfile", str(access_log), "logging_app:app"],
        cwd=APPS, env=server_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_file(error_log, lambda text: "Listening on" in text, timeout=20)
        get(port, "/warning")
        wait_for_file(error_log, lambda text: "warning record" in text)
        wait_for_file(access_log, lambda text: "GET /warning" in text)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    assert ESC not in error_log.read_text()
    assert ESC not in access_log.read_text()


# ---- journald -----------------------------------------------------------------------------


def run_with_journal_stream(tmp_path, journal_matches: bool) -> tuple[str, str]:
    """stderr is a pipe of ours; JOURNAL_STREAM names it (or another inode), as systemd does
    for StandardError=journal."""
    read_end, write_end = os.pipe()
    info = os.fstat(write_end)
    inode = info.st_ino if journal_matches else info.st_ino + 1
    port = free_port()
    proc = subprocess.Popen(
        [ASGID_BIN, "--port", str(port), "logging_app:app"], cwd=APPS,
        env=server_env({"JOURNAL_STREAM": f"{info.st_dev}:{inode}"}),
        stdout=subprocess.PIPE, stderr=write_end, start_new_session=True)
    os.close(write_end)
    output = b""
    deadline = time.monotonic() + 20
    requested = False
    try:
        while time.monotonic() < deadline and b"warning record" not in output:
            ready, _, _ = select.select([read_end], [], [], 0.2)
            if ready:
                output += os.read(read_end, 65536)
            if not requested and b"Listening on" in output:
                get(port, "/warning")
                get(port, "/exception")
                requested = True
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
        while True:
            ready, _, _ = select.select([read_end], [], [], 0.5)
            if not ready:
                break
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            output += chunk
        os.close(read_end)
    return output.decode(), out.decode()


def test_journal_stream_gets_priority_prefixes(tmp_path):
    err, out = run_with_journal_stream(tmp_path, journal_matches=True)
    lines = [line for line in err.splitlines() if line]
    assert lines
    for line in lines:  # every line, traceback lines included, carries a priority
        assert re.match(r"<[2-7]>", line), line
    assert any(line.startswith("<6>[") and "Listening on" in line for line in lines)
    assert any(line.startswith("<4>[") and "warning record" in line for line in lines)
    assert any(line.startswith("<3>[") and "division failed" in line for line in lines)
    assert "<3>ZeroDivisionError: division by zero" in lines
    assert ESC not in err
    # stdout is another stream (a pipe systemd did not name): unchanged.
    assert re.search(r'^\[[^\]]+\] \[\d+\] 127\.0\.0\.1:\d+ - "GET /warning', out, re.M)


def test_other_journal_stream_changes_nothing(tmp_path):
    err, _ = run_with_journal_stream(tmp_path, journal_matches=False)
    assert "warning record" in err
    assert not re.search(r"^<\d>", err, re.M)


# ---- --log-config -------------------------------------------------------------------------


def test_log_config_json_is_applied(server, tmp_path):
    app_log = tmp_path / "app.log"
    config = tmp_path / "logging.json"
    config.write_text(json.dumps({
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(levelname)s|%(name)s|%(message)s"}},
        "handlers": {
            "file": {"class": "logging.FileHandler", "filename": str(app_log),
                     "formatter": "plain"},
            "asgid": {"class": "asgid_logging.Handler"},
        },
        "loggers": {"logapp.views": {"level": "DEBUG", "handlers": ["file"],
                                     "propagate": False}},
    }))
    srv = server("logging_app:app", "--log-config", config)
    get(srv.port, "/debug")
    get(srv.port, "/warning")
    text = wait_for_file(app_log, lambda t: "WARNING" in t)
    assert "DEBUG|logapp.views|a debug record from /debug" in text
    assert "WARNING|logapp.views|a warning record from /warning" in text
    srv.wait_stdout("GET /warning")
    # propagate: false: not in asgid's log; the import-time record of "logapp" still is.
    assert "warning record" not in srv.stderr_text()
    assert "[logapp] imported logging_app" in srv.stderr_text()


def test_log_config_yaml_with_asgid_handler_and_formatter(server, tmp_path):
    config = tmp_path / "logging.yaml"
    config.write_text(
        "version: 1\n"
        "disable_existing_loggers: no\n"
        "formatters:\n"
        "  tagged:\n"
        "    format: 'TAGGED %(name)s: %(message)s'\n"
        "handlers:\n"
        "  asgid:\n"
        "    class: asgid_logging.Handler\n"
        "    formatter: tagged\n"
        "loggers:\n"
        "  logapp:\n"
        "    level: DEBUG\n"
        "    handlers: [asgid]\n"
        "    propagate: no\n")
    srv = server("logging_app:app", "--log-config", config)
    get(srv.port, "/debug")
    assert srv.wait_stderr(r"\[debug\] \[logapp\.views\] TAGGED logapp\.views: a debug record")
    srv.wait_stdout("GET /debug")
    assert srv.stderr_text().count("a debug record") == 1  # propagate: no


def test_log_config_syntax_error_names_the_file(tmp_path):
    config = tmp_path / "broken.json"
    config.write_text('{"version": 1,\n  "handlers": {"x": [}\n}')
    proc = subprocess.run([ASGID_BIN, "--port", str(free_port()), "--log-config", str(config),
                           "logging_app:app"], cwd=APPS, env=server_env(),
                          capture_output=True, timeout=20)
    assert proc.returncode == 2
    assert re.search(rf"{re.escape(str(config))}:2:\d+: ", proc.stderr.decode())


def test_log_config_missing_file(tmp_path):
    proc = subprocess.run([ASGID_BIN, "--port", str(free_port()), "--log-config",
                           str(tmp_path / "nope.yaml"), "logging_app:app"], cwd=APPS,
                          env=server_env(), capture_output=True, timeout=20)
    assert proc.returncode == 2
    assert "nope.yaml" in proc.stderr.decode()


def test_log_config_dictconfig_refusal_stops_without_respawning(tmp_path):
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"version": 1, "handlers": {
        "x": {"class": "no_such_module.Handler"}}}))
    proc = subprocess.run([ASGID_BIN, "--port", str(free_port()), "--workers", "2",
                           "--log-config", str(config), "logging_app:app"], cwd=APPS,
                          env=server_env(), capture_output=True, timeout=30)
    err = proc.stderr.decode()
    assert proc.returncode == 2  # a configuration error, as a bad flag is
    assert f"--log-config {config}: logging.config.dictConfig refused it" in err
    assert "no_such_module" in err
    assert err.count("Booting worker") == 2  # the first two, never a respawn
    assert "imported logging_app" not in err  # the app was never imported


# ---- SIGUSR1 ------------------------------------------------------------------------------


def test_usr1_reopens_json_error_log_and_json_access_log(tmp_path):
    error_log = tmp_path / "error.log"
    access_log = tmp_path / "access.log"
    port = free_port()
    proc = subprocess.Popen(
        [ASGID_BIN, "--port", str(port), "--workers", "2", "--log-format", "json",
         "--access-log-format", "json", "--error-logfile", str(error_log),
         "--access-logfile", str(access_log), "logging_app:app"],
        cwd=APPS, env=server_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_file(error_log, lambda text: "Listening on" in text, timeout=20)
        get(port, "/warning")
        wait_for_file(access_log, lambda text: "/warning" in text)
        os.rename(error_log, tmp_path / "error.log.1")
        os.rename(access_log, tmp_path / "access.log.1")
        proc.send_signal(signal.SIGUSR1)
        wait_for_file(error_log, lambda text: text.count("reopened the log files") >= 3,
                      timeout=5)
        for _ in range(6):  # both workers' Python records and access lines
            get(port, "/error")
        new_errors = wait_for_file(error_log, lambda text: text.count("a error record") >= 6)
        new_access = wait_for_file(access_log, lambda text: text.count('"/error"') >= 6)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    assert proc.returncode == 0
    records = json_lines(new_errors)
    assert {r["worker"] for r in records if r["logger"] == "logapp.views"} <= {1, 2}
    assert all(r["status"] == 200 for r in json_lines(new_access))
    old = json_lines((tmp_path / "error.log.1").read_text())
    assert not any(r["message"].startswith("a error record") for r in old)


# ---- --preload and SIGHUP -----------------------------------------------------------------


def test_preload_routes_records_logged_at_import_in_the_master(server):
    srv = server("logging_app:app", "--preload", "--log-format", "json")
    get(srv.port, "/warning")
    srv.wait_stderr(r'"message":"a warning record')
    records = json_lines(srv.stderr_text())
    imported = [r for r in records if r["message"] == "imported logging_app"]
    assert len(imported) == 1 and imported[0]["pid"] == srv.pid  # imported once, by the master
    warning = [r for r in records if r["logger"] == "logapp.views"]
    assert warning[0]["worker"] == 1 and warning[0]["pid"] != srv.pid


def test_hup_with_a_broken_log_config_keeps_serving(server, tmp_path):
    config = tmp_path / "logging.json"
    config.write_text(json.dumps({"version": 1, "disable_existing_loggers": False}))
    srv = server("logging_app:app", "--log-config", config)
    config.write_text('{"version": ')
    srv.signal(signal.SIGHUP)
    assert srv.wait_stderr(rf"Reload failed: {re.escape(str(config))}:\d+:\d+")
    assert get(srv.port, "/info") == b"ok"
