"""Proxy headers: X-Forwarded-For/Proto, Forwarded and X-Forwarded-Host believed only from
--forwarded-allow-ips peers (docs/configuration.md, "Proxies")."""

import json
import os
import tempfile

import pytest

from support import RawConnection, free_port, run_cli


def ask(port=None, headers=(), *, uds=None, host="127.0.0.1", host_header="test"):
    with RawConnection(port, uds=uds, host=host) as conn:
        conn.request("GET", "/", headers=[*headers, ("Connection", "close")], host=host_header)
        resp = conn.read_response()
        assert resp.status == 200, resp
        return json.loads(resp.body), None if uds else conn.local_port


SPOOF = [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https")]


@pytest.fixture(scope="module")
def default_srv(module_server):
    return module_server("proxy_app:app")


def test_trusted_loopback_names_the_client_and_scheme(default_srv):
    scope, _ = ask(default_srv.port, SPOOF)
    assert scope["client"] == ["203.0.113.7", 0]
    assert scope["scheme"] == "https"
    assert scope["server"] == ["127.0.0.1", default_srv.port]


def test_port_in_forwarded_for_and_proto_variants(default_srv):
    scope, _ = ask(default_srv.port, [("X-Forwarded-For", "[2001:db8::7]:4711"),
                                      ("X-Forwarded-Proto", "wss")])
    assert scope["client"] == ["2001:db8::7", 4711]
    assert scope["scheme"] == "https"  # an HTTP request: wss means https
    scope, _ = ask(default_srv.port, [("X-Forwarded-Proto", "gopher")])
    assert scope["scheme"] == "http"
    assert scope["client"][0] == "127.0.0.1"


def test_without_headers_the_connection_speaks(default_srv):
    scope, local_port = ask(default_srv.port)
    assert scope["client"] == ["127.0.0.1", local_port]
    assert scope["scheme"] == "http"


def test_access_log_shows_the_forwarded_client(default_srv):
    ask(default_srv.port, [("X-Forwarded-For", "198.51.100.77")])
    assert default_srv.wait_stdout(r"198\.51\.100\.77:0 - \"GET / HTTP/1\.1\" 200", 5)


def test_untrusted_peer_cannot_spoof(server):
    srv = server("proxy_app:app", "--forwarded-allow-ips", "10.0.0.1, 192.168.0.0/16")
    scope, local_port = ask(srv.port, SPOOF)
    assert scope["client"] == ["127.0.0.1", local_port]
    assert scope["scheme"] == "http"
    # The headers are left in the request as sent.
    assert "x-forwarded-for" in scope["headers"] and "x-forwarded-proto" in scope["headers"]


def test_environment_fallback_and_no_proxy_headers(server):
    srv = server("proxy_app:app", env={"FORWARDED_ALLOW_IPS": "10.0.0.1"})
    scope, _ = ask(srv.port, SPOOF)
    assert scope["client"][0] == "127.0.0.1"
    srv = server("proxy_app:app", "--no-proxy-headers")
    scope, _ = ask(srv.port, SPOOF)
    assert scope["client"][0] == "127.0.0.1"
    assert scope["scheme"] == "http"


def test_chain_of_proxies(server):
    srv = server("proxy_app:app", "--forwarded-allow-ips", "127.0.0.1,10.0.0.0/8")
    # A client's own spoofed entry, the real client, then two of our proxies.
    scope, _ = ask(srv.port, [("X-Forwarded-For", "1.2.3.4, 198.51.100.9, 10.0.0.5"),
                              ("X-Forwarded-For", "10.20.30.40")])
    assert scope["client"] == ["198.51.100.9", 0]
    # All of them trusted: the leftmost.
    scope, _ = ask(srv.port, [("X-Forwarded-For", "10.0.0.1, 10.0.0.2")])
    assert scope["client"] == ["10.0.0.1", 0]


def test_ipv6_peers(server):
    port = free_port()
    srv = server("proxy_app:app", "--bind", f"[::1]:{port}", port=None)
    scope, _ = ask(port, SPOOF, host="::1")
    assert scope["client"] == ["203.0.113.7", 0]  # ::1 is in the default list
    assert scope["server"] == ["::1", port]
    assert not srv.finish()
    port = free_port()
    server("proxy_app:app", "--bind", f"[::1]:{port}", "--forwarded-allow-ips", "127.0.0.1",
           port=None)
    scope, local_port = ask(port, SPOOF, host="::1")
    assert scope["client"] == ["::1", local_port]
    assert scope["scheme"] == "http"


def test_unix_socket_peers(server):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "a.sock")
        server("proxy_app:app", "--uds", path, port=None)
        scope, _ = ask(uds=path, headers=SPOOF)
        assert scope["client"] is None  # "unix" is not in the default list
        assert scope["scheme"] == "http"
        path2 = os.path.join(tmp, "b.sock")
        server("proxy_app:app", "--uds", path2, "--forwarded-allow-ips", "unix", port=None)
        scope, _ = ask(uds=path2, headers=SPOOF)
        assert scope["client"] == ["203.0.113.7", 0]
        assert scope["scheme"] == "https"


def test_forwarded_header(server):
    srv = server("proxy_app:app", "--forwarded-header",
                 "--forwarded-allow-ips", "127.0.0.1,10.0.0.0/8")
    scope, _ = ask(srv.port, [
        ("Forwarded", 'for=1.2.3.4;proto=http, for="[2001:db8:cafe::17]:4711";proto=https'),
        ("Forwarded", "for=10.0.0.9;proto=http"),
        ("X-Forwarded-For", "198.51.100.1")])  # Forwarded wins
    assert scope["client"] == ["2001:db8:cafe::17", 4711]
    assert scope["scheme"] == "https"
    scope, _ = ask(srv.port, [("Forwarded", "for=unknown")])
    assert scope["client"] is None
    scope, _ = ask(srv.port, [("Forwarded", "for=_gateway7;proto=https")])
    assert scope["client"] == ["_gateway7", 0]
    # Broken: ignored as a whole.
    scope, local_port = ask(srv.port, [("Forwarded", "for=2001:db8::1;proto=https")])
    assert scope["client"] == ["127.0.0.1", local_port]
    assert scope["scheme"] == "http"


def test_forwarded_header_is_off_by_default(default_srv):
    scope, local_port = ask(default_srv.port, [("Forwarded", "for=203.0.113.7;proto=https")])
    assert scope["client"] == ["127.0.0.1", local_port]
    assert scope["scheme"] == "http"


def test_forwarded_host(server):
    headers = [("X-Forwarded-Host", "shop.example"), ("X-Forwarded-Proto", "https")]
    off = server("proxy_app:app")
    scope, _ = ask(off.port, headers, host_header="internal:8000")
    assert scope["host"] == ["internal:8000"]
    assert scope["server"] == ["127.0.0.1", off.port]
    on = server("proxy_app:app", "--forwarded-host")
    scope, _ = ask(on.port, headers, host_header="internal:8000")
    assert scope["host"] == ["shop.example"]
    assert scope["server"] == ["shop.example", 443]
    scope, _ = ask(on.port, [("X-Forwarded-Host", "shop.example"), ("X-Forwarded-Port", "8443")],
                   host_header="internal:8000")
    assert scope["host"] == ["shop.example:8443"]
    assert scope["server"] == ["shop.example", 8443]
    untrusted = server("proxy_app:app", "--forwarded-host", "--forwarded-allow-ips", "10.0.0.1")
    scope, _ = ask(untrusted.port, headers, host_header="internal:8000")
    assert scope["host"] == ["internal:8000"]


def test_bad_allow_list_is_a_config_error():
    code, _, err = run_cli(["--forwarded-allow-ips", "127.0.0.1,localhost", "proxy_app:app"])
    assert code != 0
    assert "--forwarded-allow-ips" in err and "'localhost'" in err, err
    code, _, err = run_cli(["proxy_app:app"], env={"FORWARDED_ALLOW_IPS": "10.0.0.1/8"})
    assert code != 0
    assert "'10.0.0.1/8'" in err, err
