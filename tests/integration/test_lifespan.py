"""The lifespan protocol (ASGI lifespan spec 2.0): auto/on/off, failure, state, shutdown."""

import json
import signal
import uuid

import httpx

from support import free_port, run_cli, wait_for_file


def test_auto_serves_an_app_without_lifespan_support(server):
    srv = server("lifespan_unsupported:app", "--lifespan", "auto")
    r = httpx.get(srv.url + "/", timeout=5)
    assert r.status_code == 200 and r.text == "served anyway"


def test_default_is_auto(server):
    srv = server("lifespan_unsupported:app")
    assert httpx.get(srv.url + "/", timeout=5).text == "served anyway"


def _failing_start(mode):
    token = uuid.uuid4().hex
    rc, out, err = run_cli(["--lifespan", "on", "--port", free_port(), "lifespan_app:app"],
                           env={"LIFESPAN_MODE": mode, "LIFESPAN_TOKEN": token}, timeout=20)
    return token, rc, err


def test_on_startup_failed_message_exits_nonzero():
    token, rc, err = _failing_start("fail_message")
    assert rc != 0
    assert f"database unreachable {token}" in err, err[-2000:]
    assert "Listening on" not in err


def test_on_startup_exception_exits_nonzero():
    token, rc, err = _failing_start("raise")
    assert rc != 0
    assert f"kaboom {token}" in err, err[-2000:]
    assert "Listening on" not in err


def test_state_from_startup_is_visible_and_shutdown_runs_on_sigterm(server, tmp_path):
    marker = tmp_path / "lifespan.txt"
    srv = server("lifespan_app:app", "--lifespan", "on",
                 env={"LIFESPAN_MODE": "ok", "TEST_MARKER_FILE": str(marker)})
    r = httpx.get(srv.url + "/", timeout=5)
    assert r.json() == {"db": "connected", "pool": {"size": 3}}
    first = marker.read_text().splitlines()
    assert first[0].startswith("lifespan-called ")
    info = json.loads(first[0].split(" ", 1)[1])
    assert info["asgi"]["version"] == "3.0"
    assert info["has_state"] is True
    assert first[1:] == ["startup"]

    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(10) == 0
    assert wait_for_file(marker, lambda t: "shutdown" in t, 1).splitlines()[-1] == "shutdown"


def test_off_never_calls_lifespan(server, tmp_path):
    marker = tmp_path / "lifespan.txt"
    srv = server("lifespan_app:app", "--lifespan", "off",
                 env={"LIFESPAN_MODE": "raise", "TEST_MARKER_FILE": str(marker)})
    r = httpx.get(srv.url + "/", timeout=5)
    assert r.status_code == 200
    assert r.json() == {"db": None, "pool": None}
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(10) == 0
    assert not marker.exists() or "lifespan-called" not in marker.read_text()


def test_signal_stops_a_server_whose_startup_hangs(server, tmp_path):
    """uvicorn's users complain that Ctrl+C hangs when startup hangs (field notes)."""
    marker = tmp_path / "lifespan.txt"
    srv = server("lifespan_app:app", "--lifespan", "on", wait_ready=False,
                 env={"LIFESPAN_MODE": "hang", "TEST_MARKER_FILE": str(marker)})
    assert "hanging" in wait_for_file(marker, lambda t: "hanging" in t, 10)
    srv.signal(signal.SIGTERM)
    rc = srv.wait_exit(5)
    assert rc is not None, "still running 5 s after SIGTERM during a hanging startup"
    assert rc >= 0
