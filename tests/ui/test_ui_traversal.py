"""Static and log endpoints refuse path traversal. Requests go out byte for byte (http.client
does not normalise `..` the way browsers and httpx do), to a real uvicorn."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest
from builders import Store

from archsearch.ui.server import ServerHandle

SECRET = "archsearch-secret-7f3a"
"""Written next to the package's static folder and the store; no response may contain it."""

TRAVERSALS = [
    "/static/../app.py",
    "/static/../../ui/app.py",
    "/static/%2e%2e/app.py",
    "/static/%2e%2e%2fapp.py",
    "/static/..%2f..%2f..%2fsecret.txt",
    "/static/..\\app.py",
    "/static/%252e%252e/app.py",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/pages/../../app.py",
    "/static/./app.js/../../app.py",
    "/static/plotly.min.js/../../__init__.py",
    "/../../etc/passwd",
    "/static/../../../../../../etc/passwd",
    "/static/C:%5cWindows%5cwin.ini",
]


def raw_get(server: ServerHandle, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def secret(store: Store) -> Path:
    path = store.path.parent / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", TRAVERSALS)
def test_static_refuses_traversal(server: ServerHandle, secret: Path, path: str) -> None:
    status, body = raw_get(server, path)
    assert status in (400, 404), (path, status)
    assert SECRET.encode() not in body
    assert b"import " not in body and b"root:" not in body


def test_static_serves_only_listed_files(server: ServerHandle) -> None:
    assert raw_get(server, "/static/app.js")[0] == 200
    assert raw_get(server, "/static/pages/trial.js")[0] == 200
    for path in ("/static/", "/static/pages", "/static/pages/", "/static/__init__.py"):
        assert raw_get(server, path)[0] == 404, path


LOG_TRAVERSALS = [
    "/api/experiments/finished1/trials/../../../secret.txt/log",
    "/api/experiments/finished1/trials/..%2f..%2fsecret.txt/log",
    "/api/experiments/finished1/trials/1/log/../../../../secret.txt",
    "/api/experiments/finished1/trials/1/log?path=../secret.txt",
    "/api/experiments/finished1/trials/1/log?kb=1&file=%2e%2e%2fsecret.txt",
    "/api/experiments/..%2f..%2fsecret.txt/trials/1/log",
    "/api/experiments/finished1/trials/%2e%2e/log",
    "/api/experiments/finished1/trials/1%2f..%2f..%2fsecret.txt/log",
]


@pytest.mark.parametrize("path", LOG_TRAVERSALS)
def test_log_endpoint_reads_only_the_trials_own_log(
    server: ServerHandle, store: Store, secret: Path, path: str
) -> None:
    status, body = raw_get(server, path)
    assert SECRET.encode() not in body
    own = Path(str(store.storage.trial("finished1", 1).log_path)).read_bytes()
    # Either refused, or (for extra query parameters) the trial's own log and nothing else.
    assert status in (400, 404) or (status == 200 and body == own), (path, status, body[:80])
