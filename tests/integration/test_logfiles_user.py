"""--user with log files: what root creates before the privilege drop belongs to the user who
reopens it on SIGUSR1, and a reopen that cannot succeed is reported and loses no line.

Needs root (to start as root and drop to nobody): skipped otherwise."""

import os
import pwd
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from master_support import MASTER_APP, wait_worker_count
from master_support import master  # noqa: F401 - the fixture
from support import wait_for_file

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="starts asgid as root with --user nobody: needs root")


@pytest.fixture
def log_root():
    """A root-owned, world-searchable directory (pytest's tmp_path is 0700: nobody could not
    reach anything below it), standing in for /var/log."""
    base = Path(tempfile.mkdtemp(prefix="asgid-userlogs-"))
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def owner(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_uid, st.st_gid


def start(master, log_dir: Path):
    srv = master(MASTER_APP, "--workers", "2", "--user", "nobody",
                 "--error-logfile", str(log_dir / "error.log"),
                 "--access-logfile", str(log_dir / "access.log"), wait_ready=False)
    text = wait_for_file(log_dir / "error.log", lambda t: "Listening on" in t, timeout=20)
    assert "Listening on" in text, text[-2000:] + srv.stderr_text()[-2000:]
    wait_worker_count(srv.pid, 2)
    return srv


def access_lines(path: Path) -> int:
    return path.read_text().count('"GET /pid ') if path.exists() else 0


def test_rotated_logs_are_reopened_as_nobody(master, log_root):
    nobody = pwd.getpwnam("nobody")
    log_dir = log_root / "asgid"  # missing: asgid creates it
    srv = start(master, log_dir)
    # Everything root created before the drop belongs to the user who will reopen it.
    assert owner(log_dir) == (nobody.pw_uid, nobody.pw_gid)
    assert owner(log_dir / "error.log") == (nobody.pw_uid, nobody.pw_gid)
    assert owner(log_dir / "access.log") == (nobody.pw_uid, nobody.pw_gid)
    assert srv.get("/pid").status_code == 200
    wait_for_file(log_dir / "access.log", lambda t: '"GET /pid ' in t)

    os.rename(log_dir / "error.log", log_dir / "error.log.1")
    os.rename(log_dir / "access.log", log_dir / "access.log.1")
    srv.signal(signal.SIGUSR1)
    # The master, then each of the two workers.
    reopened = wait_for_file(log_dir / "error.log",
                             lambda t: t.count("reopened the log files") >= 3, timeout=10)
    assert reopened.count("reopened the log files") == 3, reopened
    assert "Cannot reopen" not in reopened
    for _ in range(6):
        assert srv.get("/pid").status_code == 200
    wait_for_file(log_dir / "access.log", lambda t: t.count('"GET /pid ') >= 6)
    assert access_lines(log_dir / "access.log") == 6
    assert access_lines(log_dir / "access.log.1") == 1
    # The new files were made by the workers and the master themselves: nobody's.
    assert owner(log_dir / "error.log") == (nobody.pw_uid, nobody.pw_gid)
    assert owner(log_dir / "access.log") == (nobody.pw_uid, nobody.pw_gid)


def test_root_owned_log_dir_with_logrotate_create_then_a_failed_reopen(master, log_root):
    nobody = pwd.getpwnam("nobody")
    log_dir = log_root / "asgid"  # like /var/log/asgid from a package: root's, 0755
    log_dir.mkdir(mode=0o755)
    srv = start(master, log_dir)
    assert owner(log_dir) == (0, 0), "an existing directory is left alone"
    assert owner(log_dir / "error.log") == (nobody.pw_uid, nobody.pw_gid)
    assert owner(log_dir / "access.log") == (nobody.pw_uid, nobody.pw_gid)

    # logrotate with `create 0640 nobody nogroup`: move, recreate as root for nobody, signal.
    for name in ("error.log", "access.log"):
        os.rename(log_dir / name, log_dir / (name + ".1"))
        fd = os.open(log_dir / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
        os.fchown(fd, nobody.pw_uid, nobody.pw_gid)
        os.close(fd)
    srv.signal(signal.SIGUSR1)
    text = wait_for_file(log_dir / "error.log",
                         lambda t: t.count("reopened the log files") >= 3, timeout=10)
    assert text.count("reopened the log files") == 3, text
    assert srv.get("/pid").status_code == 200
    wait_for_file(log_dir / "access.log", lambda t: '"GET /pid ' in t)
    assert access_lines(log_dir / "access.log") == 1

    # A plain move without `create`: nobody cannot create files in root's directory.
    os.rename(log_dir / "error.log", log_dir / "error.log.2")
    os.rename(log_dir / "access.log", log_dir / "access.log.2")
    srv.signal(signal.SIGUSR1)
    old_error = log_dir / "error.log.2"
    # Each of the three processes reports each of its two files once, in the old error log.
    text = wait_for_file(old_error, lambda t: t.count("Cannot reopen") >= 6, timeout=10)
    failures = [line for line in text.splitlines() if "Cannot reopen" in line]
    assert len(failures) == 6, text
    for name in ("error.log", "access.log"):
        mine = [line for line in failures if str(log_dir / name) in line]
        assert len(mine) == 3, failures
    for line in failures:
        assert "as user nobody (uid %d)" % nobody.pw_uid in line, line
        assert "Permission denied" in line and "EACCES" in line, line
    assert "not all reopened" in text
    # Nobody claimed success this time: the only three success lines are the earlier ones,
    # which went to error.log.1's successor (now error.log.2), before the failures.
    assert text.count("reopened the log files") == 3
    assert not (log_dir / "error.log").exists()
    assert not (log_dir / "access.log").exists()
    # No line lost: requests still land in the old access file.
    for _ in range(4):
        assert srv.get("/pid").status_code == 200
    wait_for_file(log_dir / "access.log.2", lambda t: t.count('"GET /pid ') >= 5)
    assert access_lines(log_dir / "access.log.2") == 5
    assert not (log_dir / "access.log").exists()
