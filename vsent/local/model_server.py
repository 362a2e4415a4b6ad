"""The local model server (vs_model.serving) in a child process, as the endpoint's container.

It is supervised as SageMaker supervises a container: a server that exits, or stops answering
GET /ping, is logged at ERROR and started again on the same port, so invocations waiting for
it (see async_endpoint.py) go through once it is back.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import requests

from vsent.local.child import stop, wait_ready

log = logging.getLogger(__name__)

# A server that fails this many health checks in a row (one a second) is restarted.
_FAILED_PINGS = 5
_PR_SET_PDEATHSIG = 1


class ModelServerError(RuntimeError):
    """The model server did not come up."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: receive SIGTERM when the stack dies, even by SIGKILL (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ModelServerProcess:
    """`python -m vs_model.serving` for one model, with the container's environment."""

    def __init__(
        self,
        model: Path,
        env: dict[str, str],
        log_file: IO[bytes],
        pid_file: Path,
        start_timeout_s: float = 120,
    ) -> None:
        self._model = model
        self._pid_file = pid_file
        self._env = env
        self._log = log_file
        self._timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._port = free_port()
        self.url = f"http://127.0.0.1:{self._port}"
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._supervisor = threading.Thread(
            target=self._supervise, name="model-server", daemon=True
        )
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        """The server process's id (it changes when the server is restarted)."""
        return self._process.pid if self._process else None

    def start(self) -> str:
        """Start the server, wait until GET /ping answers 200, and supervise it; its URL."""
        self._spawn()
        self._supervisor.start()
        return self.url

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait until the server answers (True), or `timeout_s` passes (False)."""
        return self._ready.wait(timeout_s)

    def stop(self) -> None:
        """Stop supervising, then the server (SIGTERM, then SIGKILL after 10 s)."""
        self._stopping.set()
        if self._supervisor.is_alive():
            self._supervisor.join()
        with self._lock:
            self._terminate()
        self._pid_file.unlink(missing_ok=True)

    def _spawn(self) -> None:
        with self._lock:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "vs_model.serving", "--model", str(self._model),
                 "--host", "127.0.0.1", "--port", str(self._port)],
                env=self._env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )  # fmt: skip
        self._pid_file.write_text(str(self._process.pid), encoding="utf-8")
        wait_ready(
            self._process,
            lambda: True if self._healthy() else None,
            timeout_s=self._timeout_s,
            what=f"the model server for {self._model}",
            log="model-server.log",
            error=ModelServerError,
            on_timeout=self._terminate,
        )
        self._ready.set()

    def _healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/ping", timeout=2).ok
        except requests.RequestException:
            return False

    def _supervise(self) -> None:
        failed = 0
        while not self._stopping.wait(1.0):
            exited = self._process is not None and self._process.poll() is not None
            failed = 0 if exited or self._healthy() else failed + 1
            if not exited and failed < _FAILED_PINGS:
                continue
            self._ready.clear()
            if exited:
                log.error(
                    "the model server (pid %s) exited with status %s; restarting it",
                    self.pid,
                    self._process.returncode if self._process else None,
                )
            else:
                log.error("the model server stopped answering /ping; restarting it")
                with self._lock:
                    self._terminate()
            self._restart()
            failed = 0

    def _restart(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            try:
                self._spawn()
            except ModelServerError as exc:
                log.error("the model server did not come back: %s; retrying in %.0f s", exc, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, 30.0)
                continue
            self.restarts += 1
            log.warning("the model server is back (pid %s, restart %d)", self.pid, self.restarts)
            return

    def _terminate(self) -> None:
        stop(self._process, grace_s=10)
