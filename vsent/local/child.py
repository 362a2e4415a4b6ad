"""Child processes of the local stack (the model server, the stack itself): wait until one is
ready, and stop it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_ready(
    process: subprocess.Popen[bytes],
    ready: Callable[[], T | None],
    *,
    timeout_s: float,
    what: str,
    log: str,
    error: type[Exception],
    on_timeout: Callable[[], None],
    poll_s: float = 0.2,
) -> T:
    """Poll ``ready`` until it returns a value; raise ``error`` (naming ``what`` and ``log``)
    when the process exits first, or after ``on_timeout`` once ``timeout_s`` has passed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise error(f"{what} exited with status {process.returncode} while starting; see {log}")
        value = ready()
        if value is not None:
            return value
        time.sleep(poll_s)
    on_timeout()
    raise error(f"{what} did not start within {timeout_s:.0f} s; see {log}")


def stop(process: subprocess.Popen[bytes] | None, grace_s: float, *, group: bool = False) -> None:
    """SIGTERM the process and wait; SIGKILL it (its whole process group with ``group``) after
    ``grace_s``."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait()
