"""DNS rebinding: the dashboard answers only requests whose Host header names the host it was
started for, localhost or an IP address. Requests go out with the Host header as written
(http.client), to a real uvicorn."""

from __future__ import annotations

import asyncio
import http.client

import httpx
import pytest
from builders import Store

from archsearch.ui import create_app
from archsearch.ui.server import ServerHandle

PATHS = ["/", "/api/experiments", "/api/experiments/finished1/trials/1/log", "/static/app.js"]


def get_with_host(server: ServerHandle, path: str, host: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        if host:
            conn.putheader("Host", host)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


FOREIGN = [
    "attacker.example",
    "attacker.example:{port}",
    "localhost.attacker.example:{port}",
    "127.0.0.1.attacker.example:{port}",
    "attacker.example@127.0.0.1:{port}",
    "127.0.0.1:{port}@attacker.example",
    "[::1].attacker.example",
    "",
]


@pytest.mark.parametrize("host", FOREIGN)
@pytest.mark.parametrize("path", PATHS)
def test_foreign_host_is_refused(server: ServerHandle, path: str, host: str) -> None:
    status, body = get_with_host(server, path, host.format(port=server.port))
    assert status == 400, (host, path)
    assert b"finished1" not in body and b"<script" not in body


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost", "[::1]:{port}", "10.1.2.3:80"]
)
def test_local_names_and_addresses_are_served(server: ServerHandle, host: str) -> None:
    status, body = get_with_host(server, "/api/experiments", host.format(port=server.port))
    assert status == 200 and b"finished1" in body


def test_the_name_given_as_host_is_served(store: Store) -> None:
    app = create_app(str(store.path), host="Gpu-Box.lan")

    async def status(base_url: str) -> tuple[int, str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            response = await client.get("/api/experiments")
            return response.status_code, response.text

    assert asyncio.run(status("http://gpu-box.lan:8081"))[0] == 200
    code, text = asyncio.run(status("http://other-box.lan:8081"))
    assert code == 400 and "gpu-box.lan" in text
