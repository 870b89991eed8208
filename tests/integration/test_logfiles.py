"""--error-logfile / --access-logfile, and SIGUSR1 reopening them after logrotate moved them
(in the master and in every worker)."""

import os
import signal
import subprocess
import time
import urllib.request

from support import APPS, ASGID_BIN, free_port, server_env, wait_for_file


def get(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        response.read()
        return response.status


def test_usr1_reopens_moved_log_files(tmp_path):
    error_log = tmp_path / "error.log"
    access_log = tmp_path / "access.log"
    port = free_port()
    proc = subprocess.Popen(
        [ASGID_BIN, "--port", str(port), "--workers", "2", "--error-logfile", str(error_log),
         "--access-logfile", str(access_log), "hello_app:app"],
        cwd=APPS, env=server_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_file(error_log, lambda text: "Listening on" in text, timeout=20)
        assert get(port) == 200
        wait_for_file(access_log, lambda text: '"GET / HTTP/1.1" 200' in text)
        # logrotate's default: move the files away, then signal.
        os.rename(error_log, tmp_path / "error.log.1")
        os.rename(access_log, tmp_path / "access.log.1")
        proc.send_signal(signal.SIGUSR1)
        reopened = wait_for_file(
            error_log, lambda text: text.count("reopened the log files") >= 3, timeout=5)
        assert "telling the workers" in reopened  # the master, then each of the two workers
        for _ in range(6):  # both workers write their access lines to the new file
            assert get(port) == 200
        new_access = wait_for_file(access_log, lambda text: text.count('"GET / ') >= 6)
        assert '"GET / HTTP/1.1" 200' in new_access
        old_access = (tmp_path / "access.log.1").read_text()
        assert old_access.count('"GET / ') == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    # Nothing went to the standard streams: the files got it all.
    assert b"Listening on" not in err and b'"GET /' not in out


def test_unwritable_log_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file, so nothing can be created below it")
    proc = subprocess.run(
        [ASGID_BIN, "--port", str(free_port()), "--error-logfile",
         str(blocker / "error.log"), "hello_app:app"],
        cwd=APPS, env=server_env(), capture_output=True, timeout=20)
    assert proc.returncode != 0
    assert b"cannot open a log file" in proc.stderr
    assert b"not-a-dir" in proc.stderr
