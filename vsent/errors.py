"""How every ``vsent`` command fails: ``error: <message>`` on stderr and exit code 1.

Exit codes: 0 success; 1 the command failed (this module); 2 click's own usage errors (an unknown
option, a bad value). The job commands add two outcomes of the job itself: ``JOB_FAILED`` and
``JOB_UNFINISHED``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

FAILED = 1
JOB_FAILED = 2
JOB_UNFINISHED = 3


def fail(error: Exception | str) -> typer.Exit:
    """Print ``error`` and return the exit to raise (``raise fail(...) from ...``)."""
    typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
    return typer.Exit(FAILED)


@contextmanager
def reported(*errors: type[Exception]) -> Iterator[None]:
    """End the command through :func:`fail` when one of ``errors`` is raised inside."""
    try:
        yield
    except errors as error:
        raise fail(error) from error
