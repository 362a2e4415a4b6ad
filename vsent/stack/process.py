"""Start and stop the local stack as a child process (`python -m vsent.stack`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from vsent.stack.state import LOG_FILE, STACK_FILE, StackInfo


class StackStartError(RuntimeError):
    """The local stack did not come up; the message points at its log."""


class StackProcess:
    """One local stack child process and its state folder."""

    def __init__(
        self,
        model: Path,
        state_dir: Path,
        api_port: int = 0,
        template: Path | None = None,
        web_port: int = 0,
    ) -> None:
        self.model = model
        self.state_dir = state_dir
        self.api_port = api_port
        self.web_port = web_port
        self.template = template
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """The stack's log (functions, endpoint, moto)."""
        return self.state_dir / LOG_FILE

    def start(self, timeout_s: float = 180) -> StackInfo:
        """Start the child and wait until it has published stack.json."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / STACK_FILE).unlink(missing_ok=True)
        command = [
            sys.executable, "-m", "vsent.stack", "--model", str(self.model),
            "--state-dir", str(self.state_dir), "--api-port", str(self.api_port),
            "--web-port", str(self.web_port),
        ]  # fmt: skip
        if self.template is not None:
            command += ["--template", str(self.template)]
        with self.log_path.open("wb") as log:
            # A session of its own: Ctrl-C reaches the parent, which stops the child in order.
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise StackStartError(
                    f"the local stack exited with status {self._process.returncode} while "
                    f"starting; see {self.log_path}"
                )
            info = StackInfo.read(self.state_dir)
            if info is not None and info.pid == self._process.pid:
                return info
            time.sleep(0.2)
        self.stop()
        raise StackStartError(f"the local stack did not start within {timeout_s:.0f} s")

    def wait(self) -> int:
        """Block until the child exits; its exit status."""
        return self._process.wait() if self._process else 0

    def stop(self, timeout_s: float = 60) -> None:
        """SIGTERM the child and wait for it (SIGKILL after `timeout_s`)."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
