"""The local server: package → serve → POST /invocations → a valid result document."""

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from vs_model.checkpoint import save_model
from vs_model.network import MultimodalSentimentModel
from vs_model.packaging import build_package
from vs_model.serving import ModelServer


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_cfg, tiny_tokenizer) -> Iterator[ModelServer]:
    root = tmp_path_factory.mktemp("serving")
    trained = save_model(
        root / "trained", MultimodalSentimentModel(tiny_cfg), tiny_tokenizer, tiny_cfg
    )
    package = root / "model.tar.gz"
    build_package(trained, package)  # with the installed Whisper base under asr/, by default
    served = ModelServer(package, "127.0.0.1", 0)
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    yield served
    served.shutdown()
    served.close()
    thread.join(timeout=10)


def call(
    server: ModelServer, path: str, body: bytes | None = None, content_type: str = ""
) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{server.url}{path}", data=body, method="POST" if body is not None else "GET"
    )
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_ping(server: ModelServer) -> None:
    assert call(server, "/ping") == (200, {"status": "healthy"})


def test_invocation_returns_a_valid_result(
    server: ModelServer, speech_video, repo_root: Path
) -> None:
    status, result = call(server, "/invocations", speech_video.path.read_bytes(), "video/mp4")
    assert status == 200, result
    schema = json.loads(
        (repo_root / "layers/common/vs_common/schemas/result.schema.json").read_text()
    )
    jsonschema.validate(result, schema)
    assert result["segmentation"] == "asr"
    assert len(result["utterances"]) == len(speech_video.utterances)
    assert "happy" in result["utterances"][0]["text"].lower()


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status", "code", "message"),
    [
        ("/invocations", b"hello" * 100, "video/mp4", 400, "not_a_video", "is not a video: it"),
        ("/invocations", b"{}", "application/json", 400, "bad_request", "bad manifest"),
        ("/invocations", b"a,b", "text/csv", 415, "bad_request", "unsupported content"),
        ("/nowhere", None, "", 404, "not_found", "no route /nowhere"),
    ],
)
def test_errors_are_json_with_a_status(
    server, path, body, content_type, status, code, message
) -> None:
    answer_status, answer = call(server, path, body, content_type)
    assert answer_status == status
    assert answer["code"] == status
    assert answer["type"] == code
    assert message in answer["message"]


def test_folder_is_served_too(tmp_path, tiny_cfg, tiny_tokenizer) -> None:
    folder = save_model(
        tmp_path / "m", MultimodalSentimentModel(tiny_cfg), tiny_tokenizer, tiny_cfg
    )
    served = ModelServer(folder, "127.0.0.1", 0)
    try:
        assert served.served.model.cfg == tiny_cfg
    finally:
        served.close()
