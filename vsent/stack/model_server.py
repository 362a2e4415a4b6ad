"""The local model server (vs_model.serving) in a child process, as the endpoint's container."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import IO

import requests

from vsent.stack.child import stop, wait_ready


class ModelServerError(RuntimeError):
    """The model server did not come up."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ModelServerProcess:
    """`python -m vs_model.serving` for one model, with the container's environment."""

    def __init__(self, model: Path, env: dict[str, str], log: IO[bytes]) -> None:
        self._model = model
        self._env = env
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout_s: float = 120) -> str:
        """Start the server and wait until GET /ping answers 200; returns its URL."""
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._process = subprocess.Popen(
            [sys.executable, "-m", "vs_model.serving", "--model", str(self._model),
             "--host", "127.0.0.1", "--port", str(port)],
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

        def answers() -> str | None:
            try:
                return self.url if requests.get(f"{self.url}/ping", timeout=2).ok else None
            except requests.RequestException:
                return None

        return wait_ready(
            self._process,
            answers,
            timeout_s=timeout_s,
            what=f"the model server of {self._model}",
            log="its log",
            error=ModelServerError,
            on_timeout=self.stop,
            poll_s=0.25,
        )

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        stop(self._process, 10)
