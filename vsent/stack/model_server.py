"""The local model server (vs_model.serving) in a child process, as the endpoint's container."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import requests


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
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ModelServerError(
                    f"the model server exited with status {self._process.returncode} while "
                    f"loading {self._model}; see its log"
                )
            try:
                if requests.get(f"{self.url}/ping", timeout=2).ok:
                    return self.url
            except requests.RequestException:
                pass
            time.sleep(0.25)
        self.stop()
        raise ModelServerError(f"the model server did not answer /ping within {timeout_s:.0f} s")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
