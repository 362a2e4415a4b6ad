"""The client: throttling and gateway errors are retried, then reported; the commands reach the
API their options name and fail with the exit codes of ``vsent.errors``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vsent import errors
from vsent.cli import app as vsent_app
from vsent.client.api import ApiClient, ApiError, api_retry


class _Flaky(BaseHTTPRequestHandler):
    """Answers each request with the next status of the server's script (then 200)."""

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, _Server)
        server.seen.append((self.path, self.headers.get("x-api-key")))
        status = server.script.pop(0) if server.script else 200
        body = (
            {"job_id": "j1", "status": "QUEUED"}
            if status == 200
            else {"error": {"code": "throttled", "message": "slow down"}}
        )
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Flaky)
        self.script: list[int] = []
        self.seen: list[tuple[str, str | None]] = []


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _client(server: _Server, retries: int) -> ApiClient:
    url = f"http://127.0.0.1:{server.server_port}/prod/"
    return ApiClient(url, "key-1", retry=api_retry(retries, backoff_s=0.001))


def test_throttling_and_gateway_errors_are_retried(server: _Server) -> None:
    server.script = [429, 503, 502]

    job = _client(server, retries=3).get_job("j1")

    assert job == {"job_id": "j1", "status": "QUEUED"}
    assert server.seen == [("/prod/jobs/j1", "key-1")] * 4


def test_the_last_error_is_reported_with_its_body(server: _Server) -> None:
    server.script = [429, 429, 429]

    with pytest.raises(ApiError) as raised:
        _client(server, retries=2).get_job("j1")

    assert (raised.value.status, raised.value.code) == (429, "throttled")
    assert len(server.seen) == 3


def test_other_errors_are_not_retried(server: _Server) -> None:
    server.script = [404]

    with pytest.raises(ApiError):
        _client(server, retries=3).get_job("j1")

    assert len(server.seen) == 1


def test_status_reaches_the_api_its_options_name(server: _Server) -> None:
    url = f"http://127.0.0.1:{server.server_port}/prod"
    result = CliRunner().invoke(
        vsent_app, ["status", "j1", "--api-url", url, "--api-key", "key-2", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"job_id": "j1", "status": "QUEUED"}
    assert server.seen == [("/prod/jobs/j1", "key-2")]


def test_a_job_that_has_not_finished_has_no_result_yet(server: _Server) -> None:
    url = f"http://127.0.0.1:{server.server_port}"
    result = CliRunner().invoke(vsent_app, ["result", "j1", "--api-url", url, "--api-key", "k"])
    assert result.exit_code == errors.JOB_UNFINISHED


def test_without_an_api_the_command_fails_and_says_how_to_name_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("VSENT_API_URL", "VSENT_API_KEY", "VSENT_STACK_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VSENT_CACHE_DIR", str(tmp_path))  # no local stack there
    result = CliRunner().invoke(vsent_app, ["status", "j1"])
    assert result.exit_code == errors.FAILED
    assert "error: no API to talk to: pass --api-url" in result.output
