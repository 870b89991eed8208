"""Real frameworks served by asgid, driven with httpx."""

import httpx
import pytest

from support import wait_for_file


@pytest.fixture(scope="module", params=["starlette", "fastapi"])
def fw(request, module_server):
    srv = module_server(f"{request.param}_app:app")
    with httpx.Client(base_url=srv.url, timeout=10) as client:
        yield request.param, client


def test_home(fw):
    name, client = fw
    r = client.get("/")
    assert r.status_code == 200
    assert r.text == f"{name} home"


def test_path_and_query_params(fw):
    _, client = fw
    r = client.get("/items/42", params={"q": "x y"})
    assert r.status_code == 200
    assert r.json() == {"item_id": 42, "q": "x y"}


def test_json_post(fw):
    _, client = fw
    payload = {"name": "n\u00e9", "items": [1, 2, 3]}
    r = client.post("/echo", json=payload)
    assert r.status_code == 200
    assert r.json() == {"received": payload, "count": 3}


def test_streaming_response(fw):
    _, client = fw
    with client.stream("GET", "/stream") as r:
        assert r.status_code == 200
        assert r.headers.get("transfer-encoding") == "chunked"
        body = b"".join(r.iter_bytes())
    assert body == b"".join(f"chunk{i}\n".encode() for i in range(5))


def test_background_task_runs(fw, tmp_path):
    _, client = fw
    marker = tmp_path / "bg.txt"
    r = client.get("/background", params={"marker": str(marker)})
    assert r.status_code == 200 and r.text == "scheduled"
    assert wait_for_file(marker, lambda t: t == "background done", 5) == "background done"


def test_not_found(fw):
    _, client = fw
    r = client.get("/does/not/exist")
    assert r.status_code == 404


def test_validation_error(fw):
    name, client = fw
    r = client.get("/items/notanint")
    # Starlette's int convertor does not match (404); FastAPI validates (422).
    assert r.status_code == (404 if name == "starlette" else 422)


def test_fastapi_openapi(fw):
    name, client = fw
    if name != "fastapi":
        assert client.get("/openapi.json").status_code == 404
        return
    r = client.get("/openapi.json")
    assert r.status_code == 200
    assert "/items/{item_id}" in r.json()["paths"]
