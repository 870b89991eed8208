"""--access-log-format: the default line unchanged, the common/combined/json presets, gunicorn's
atoms with request and response headers, and request ids (honoured, and generated with
--request-id)."""

import http.client
import json
import re

import pytest

DEFAULT_LINE = re.compile(
    r'^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] \[\d+\] 127\.0\.0\.1:\d+ - '
    r'"GET /info\?x=1 HTTP/1\.1" 200 2 \d+\.\d{3}ms$', re.M)
COMMON_TIME = r"\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]"


def request(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_default_line_is_unchanged(server):
    srv = server("logging_app:app")
    request(srv.port, "/info?x=1")
    assert srv.wait_stdout(DEFAULT_LINE)


def test_common_preset(server):
    srv = server("logging_app:app", "--access-log-format", "common")
    request(srv.port, "/info?x=1")
    assert srv.wait_stdout(
        rf'(?m)^127\.0\.0\.1 - - {COMMON_TIME} "GET /info\?x=1 HTTP/1\.1" 200 2$')


def test_combined_preset_with_basic_auth_user(server):
    srv = server("logging_app:app", "--access-log-format", "combined")
    request(srv.port, "/info", {"Referer": "https://ref.test/a", "User-Agent": "probe/1.0",
                                "Authorization": "Basic YWxpY2U6c2VjcmV0"})
    assert srv.wait_stdout(
        rf'(?m)^127\.0\.0\.1 - alice {COMMON_TIME} "GET /info HTTP/1\.1" 200 2 '
        r'"https://ref\.test/a" "probe/1\.0"$')


def test_json_preset(server):
    srv = server("logging_app:app", "--access-log-format", "json")
    request(srv.port, "/info?x=1", {"User-Agent": 'quote" and \\ back', "X-Request-ID": "r-1"})
    m = srv.wait_stdout(r"(?m)^\{.*\}$")
    record = json.loads(m.group(0))
    assert record["client"] == "127.0.0.1" and isinstance(record["client_port"], int)
    assert (record["method"], record["path"], record["query"]) == ("GET", "/info", "x=1")
    assert (record["protocol"], record["status"], record["bytes"]) == ("HTTP/1.1", 200, 2)
    assert record["user_agent"] == 'quote" and \\ back'
    assert record["request_id"] == "r-1" and record["referer"] is None
    assert record["duration_ms"] >= 0


def test_atoms_with_request_and_response_headers(server):
    fmt = "%(m)s %(U)s %(q)s %(H)s %(s)s %(B)s %({x-trace}i)s %({content-type}o)s " \
          "%({x-extra}o)s %({absent}i)s %(D)s"
    srv = server("logging_app:app", "--access-log-format", fmt, "--header", "X-Extra: yes")
    request(srv.port, "/info?a=b", {"X-Trace": "t-42"})
    assert srv.wait_stdout(r"(?m)^GET /info a=b HTTP/1\.1 200 2 t-42 text/plain yes - \d+$")


def test_bad_format_is_refused_at_startup(server):
    srv = server("logging_app:app", "--access-log-format", "%(h)s %(zz)s", wait_ready=False)
    assert srv.wait_exit(10) == 2
    assert "--access-log-format" in srv.stderr_text()
    assert "unknown atom %(zz)s" in srv.stderr_text()


def test_incoming_request_id_is_honoured(server):
    srv = server("logging_app:app", "--request-id", "--access-log-format",
                 "%(U)s id=%({x-request-id}i)s")
    status, body = request(srv.port, "/headers", {"X-Request-ID": "client-chosen-7"})
    assert body == b"client-chosen-7"
    assert srv.wait_stdout(r"(?m)^/headers id=client-chosen-7$")


def test_generated_request_id_reaches_the_app_and_the_log(server):
    srv = server("logging_app:app", "--request-id", "--access-log-format",
                 "%(U)s id=%({x-request-id}i)s")
    ids = [request(srv.port, "/headers")[1].decode() for _ in range(3)]
    for request_id in ids:
        assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id
        assert srv.wait_stdout(rf"(?m)^/headers id={request_id}$")
    assert len(set(ids)) == 3


def test_no_request_id_by_default(server):
    srv = server("logging_app:app", "--access-log-format", "%(U)s id=%({x-request-id}i)s")
    assert request(srv.port, "/headers")[1] == b"none"
    assert srv.wait_stdout(r"(?m)^/headers id=-$")
