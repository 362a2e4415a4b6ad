"""The local stack's child processes: waiting until one is ready, and stopping it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vsent.local.child import stop, wait_ready


class NotReady(RuntimeError):
    pass


def _child(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


def test_ready_returns_what_the_check_found() -> None:
    process = _child("import time; time.sleep(30)")
    answers = iter([None, None, "up"])
    try:
        found = wait_ready(
            process, lambda: next(answers), timeout_s=10, what="x", log="x.log",
            error=NotReady, on_timeout=lambda: None, poll_s=0.01,
        )  # fmt: skip
    finally:
        stop(process, 5)
    assert found == "up"
    assert process.returncode is not None


def test_a_child_that_exits_fails_with_its_status() -> None:
    process = _child("raise SystemExit(3)")
    process.wait()
    exited = r"the server exited with status 3 while starting; see s\.log"
    with pytest.raises(NotReady, match=exited):
        wait_ready(
            process, lambda: None, timeout_s=10, what="the server", log="s.log",
            error=NotReady, on_timeout=lambda: None,
        )  # fmt: skip


def test_a_child_that_never_gets_ready_is_stopped() -> None:
    process = _child("import time; time.sleep(30)")
    with pytest.raises(NotReady, match="did not start within 0 s"):
        wait_ready(
            process, lambda: None, timeout_s=0.05, what="x", log="x.log",
            error=NotReady, on_timeout=lambda: stop(process, 5), poll_s=0.01,
        )  # fmt: skip
    assert process.returncode == -15  # SIGTERM
