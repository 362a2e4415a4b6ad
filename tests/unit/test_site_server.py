"""The local web page server: the page's files and config.json with security headers, nothing
outside its folder, and nothing before the stack has told it its config."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from vsent.local.web import SiteServer


@pytest.fixture
def site(tmp_path: Path) -> Iterator[SiteServer]:
    root = tmp_path / "web"
    (root / "js").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>page</title>", encoding="utf-8")
    (root / "js" / "main.js").write_text("export {};", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not for the page", encoding="utf-8")
    server = SiteServer(root=root)
    server.start()
    yield server
    server.stop()


def _get(server: SiteServer, path: str) -> tuple[int, dict[str, str], bytes]:
    host, port = server.server.server_address[:2]
    connection = http.client.HTTPConnection(str(host), int(port), timeout=5)
    # The raw path, unnormalised, as a hostile client would send it.
    connection.putrequest("GET", path, skip_accept_encoding=True)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), body


def test_nothing_is_served_before_the_config_is_known(site: SiteServer) -> None:
    status, _, _ = _get(site, "/")
    assert status == 503


def test_files_and_config_are_served_with_security_headers(site: SiteServer) -> None:
    config = {"apiUrl": "http://127.0.0.1:1/v1", "cognito": {}, "limits": {}, "local": True}
    site.configure(config, connect=["http://127.0.0.1:1", "http://127.0.0.1:2"])

    status, headers, body = _get(site, "/")
    assert status == 200
    assert body.startswith(b"<!doctype html>")
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    csp = headers["Content-Security-Policy"]
    assert "connect-src 'self' http://127.0.0.1:1 http://127.0.0.1:2;" in csp
    assert "script-src 'self';" in csp

    status, headers, body = _get(site, "/js/main.js")
    assert status == 200
    assert headers["Content-Type"] == "text/javascript; charset=utf-8"

    status, headers, body = _get(site, "/config.json")
    assert status == 200
    assert json.loads(body) == config


@pytest.mark.parametrize(
    "path", ["/../secret.txt", "/js/../../secret.txt", "/%2e%2e/secret.txt", "/missing.js", "/js"]
)
def test_nothing_outside_the_page_folder_or_missing_is_served(site: SiteServer, path: str) -> None:
    site.configure({"apiUrl": "x"}, connect=[])
    status, _, body = _get(site, path)
    assert status == 404
    assert b"not for the page" not in body
