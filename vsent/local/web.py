"""The web page locally: web/ served as CloudFront serves it on AWS, with the config.json that
the SitePublisher custom resource writes there (the API, Cognito and the upload limits)."""

from __future__ import annotations

import json
import mimetypes
from http import HTTPStatus
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from vsent.local.http_util import BackgroundServer, QuietHandler
from vsent.paths import REPO_ROOT

WEB_ROOT = REPO_ROOT / "web"
# What the template's response headers policy sends, with this stack's hosts in place.
_STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cache-Control": "no-cache",
}


def content_security_policy(connect: list[str]) -> str:
    """The page's CSP: its own files only, plus the API, Cognito and the bucket to talk to."""
    hosts = " ".join(connect)
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {hosts}; media-src 'self' blob: {hosts}; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )


class _SiteHandler(QuietHandler):
    root: ClassVar[Path]
    config: ClassVar[dict[str, Any] | None] = None
    connect: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if self.config is None:
            self.send(HTTPStatus.SERVICE_UNAVAILABLE, b"starting", {"Content-Type": "text/plain"})
            return
        headers = {
            **_STATIC_HEADERS,
            "Content-Security-Policy": content_security_policy(self.connect),
        }
        if path == "/config.json":
            body = json.dumps(self.config, indent=2).encode()
            self.send(
                HTTPStatus.OK,
                b"" if head else body,
                {**headers, "Content-Type": "application/json"},
            )
            return
        relative = "index.html" if path in ("", "/") else path.lstrip("/")
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            self.send(HTTPStatus.NOT_FOUND, b"not found", {"Content-Type": "text/plain"})
            return
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind == "application/javascript":
            kind += "; charset=utf-8"
        body = target.read_bytes()
        self.send(HTTPStatus.OK, b"" if head else body, {**headers, "Content-Type": kind})


class SiteServer(BackgroundServer):
    """The local web page server. Its port (the page's origin) is fixed at once; its
    config.json comes later, once the API it names is up."""

    def __init__(self, port: int = 0, root: Path = WEB_ROOT) -> None:
        self._handler = type("SiteHandler", (_SiteHandler,), {"root": root.resolve()})
        super().__init__(self._handler, port)

    def configure(self, config: dict[str, Any], connect: list[str]) -> None:
        """Serve this config.json, and allow the page to reach `connect` (CSP), from now on."""
        self._handler.connect = connect
        self._handler.config = config
