"""A local model server speaking the SageMaker container contract (GET /ping, POST /invocations).

It serves a model.tar.gz (unpacked into a temporary folder for the server's lifetime) or a model
folder through the same model_fn / input_fn / predict_fn / output_fn as the endpoint, so what runs
locally is what runs on AWS. Errors answer JSON in TorchServe's shape, ``{"code": status, "type",
"message"}``, which SageMaker quotes in an async failure reason: 4xx for input the caller can fix,
5xx otherwise.

    python -m vs_model.serving --model model.tar.gz --port 8080
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
import tempfile
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

from vs_model.checkpoint import model_folder
from vs_model.failures import report, request_filename

log = logging.getLogger("vs_model.serving")
MAX_BODY_BYTES = 6 * 1024**3


@dataclass
class ServedModel:
    """The handler module and the loaded model; invocations run one at a time, like one worker."""

    handlers: ModuleType
    model: Any
    lock: threading.Lock

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> str:
        """Run one request through input_fn → predict_fn → output_fn."""
        with self.lock:
            request = self.handlers.input_fn(body, content_type)
            prediction = self.handlers.predict_fn(request, self.model)
            return self.handlers.output_fn(prediction, accept)


def endpoint_handlers() -> ModuleType:
    """The endpoint's inference.py, which sits beside vs_model/ in the repo and in the package."""
    path = Path(__file__).resolve().parent.parent / "inference.py"
    loaded = sys.modules.get("inference")
    if loaded is not None and Path(getattr(loaded, "__file__", "")).resolve() == path:
        return loaded
    spec = importlib.util.spec_from_file_location("inference", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the endpoint handlers from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["inference"] = module
    spec.loader.exec_module(module)
    return module


def load_served_model(path: str | Path, scratch: Path) -> ServedModel:
    """Load a model folder or model.tar.gz (unpacked into ``scratch``) with the endpoint's code."""
    handlers = endpoint_handlers()
    folder = model_folder(Path(path), scratch)
    return ServedModel(handlers, handlers.model_fn(str(folder)), threading.Lock())


class InvocationHandler(BaseHTTPRequestHandler):
    """HTTP handler; ``server.served`` holds the ServedModel."""

    server: ModelServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        """Health check: 200 once the model is loaded."""
        if self.path.split("?", 1)[0] != "/ping":
            self._fail(HTTPStatus.NOT_FOUND, "not_found", f"no route {self.path}")
            return
        self._json(HTTPStatus.OK, {"status": "healthy"})

    def do_POST(self) -> None:
        """One inference on the request body."""
        if self.path.split("?", 1)[0] != "/invocations":
            self._fail(HTTPStatus.NOT_FOUND, "not_found", f"no route {self.path}")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._fail(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large", "body too large")
            return
        body = self.rfile.read(length)
        content_type = self.headers.get("Content-Type", "")
        try:
            answer = self.server.served.invoke(body, content_type, self.headers.get("Accept"))
        except Exception as exc:
            failure = report(exc, request_filename(body, content_type))
            # The details (temporary paths, the decoder's words, a traceback) stay in this log.
            if failure.status >= 500:
                log.exception("invocation failed (%s)", failure.code)
            else:
                log.info("invocation refused (%s): %s", failure.code, exc)
            self._json(failure.status, failure.body())
            return
        self._send(HTTPStatus.OK, answer.encode("utf-8"))

    def _fail(self, status: HTTPStatus, kind: str, message: str) -> None:
        self._json(status, {"code": int(status), "type": kind, "message": message})

    def _json(self, status: HTTPStatus, document: dict[str, Any]) -> None:
        self._send(status, json.dumps(document).encode("utf-8"))

    def _send(self, status: HTTPStatus, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class ModelServer(ThreadingHTTPServer):
    """A threading HTTP server holding one loaded model; ``close()`` removes the unpacked copy."""

    daemon_threads = True
    # The default listen backlog of 5 drops connections when many clients call at once.
    request_queue_size = 128

    def __init__(self, model: str | Path, host: str = "127.0.0.1", port: int = 8080) -> None:
        self._scratch = tempfile.TemporaryDirectory(prefix="vs-serve-")
        try:
            self.served = load_served_model(model, Path(self._scratch.name))
            super().__init__((host, port), InvocationHandler)
        except BaseException:
            self._scratch.cleanup()
            raise

    @property
    def url(self) -> str:
        """Base URL the server listens on."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        """Stop listening and delete the unpacked model."""
        self.server_close()
        self._scratch.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Command line: serve a model until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m vs_model.serving", description=__doc__)
    parser.add_argument("--model", required=True, help="model.tar.gz or model folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    server = ModelServer(args.model, args.host, args.port)
    print(f"serving {args.model} on {server.url} (GET /ping, POST /invocations)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == "__main__":
    main()
