"""Start and stop the local stack as a child process (`python -m vsent.local`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from vsent.local.child import stop, wait_ready
from vsent.local_info import LOG_FILE, STACK_FILE, StackInfo


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
            sys.executable, "-m", "vsent.local", "--model", str(self.model),
            "--state-dir", str(self.state_dir), "--api-port", str(self.api_port),
            "--web-port", str(self.web_port),
        ]  # fmt: skip
        if self.template is not None:
            command += ["--template", str(self.template)]
        # Appended, never truncated: a restart keeps the story of the runs before it.
        with self.log_path.open("ab") as log:
            # A session of its own: Ctrl-C reaches the parent, which stops the child in order.
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._process = process

        def published() -> StackInfo | None:
            info = StackInfo.read(self.state_dir)
            return info if info is not None and info.pid == process.pid else None

        return wait_ready(
            process,
            published,
            timeout_s=timeout_s,
            what="the local stack",
            log=str(self.log_path),
            error=StackStartError,
            on_timeout=self.stop,
        )

    def wait(self) -> int:
        """Block until the child exits; its exit status."""
        return self._process.wait() if self._process else 0

    def stop(self, timeout_s: float = 60) -> None:
        """SIGTERM the child and wait for it (SIGKILL after `timeout_s`)."""
        stop(self._process, timeout_s, group=True)
