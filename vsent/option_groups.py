"""Option groups for typer commands: options several commands share, declared once as a dataclass
and handed to each command as one value."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import MISSING, fields
from typing import Any


def option_group(
    group: type[Any], *, before: tuple[str, ...] = ()
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Decorate a typer command so that the fields of the dataclass ``group`` (each annotated as a
    typer option) are its options and reach it as one ``group`` value, in its parameter of that
    type. The fields named in ``before`` come ahead of the command's own options in ``--help``,
    the others after them."""
    # Typer reads a command's options from its signature, so the wrapper's signature lists the
    # group's fields in place of the group; every parameter is keyword-only, as typer passes them.
    hints = inspect.get_annotations(group, eval_str=True)
    options = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=f.default if f.default is not MISSING else f.default_factory(),
            annotation=hints[f.name],
        )
        for f in fields(group)
    ]

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        signature = inspect.signature(command, eval_str=True)
        (target,) = [p.name for p in signature.parameters.values() if p.annotation is group]
        own = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in signature.parameters.values()
            if p.name != target
        ]

        @functools.wraps(command)
        def wrapper(**values: Any) -> None:
            given = {p.name: values.pop(p.name) for p in options}
            command(**values, **{target: group(**given)})

        parameters = [
            *(p for p in options if p.name in before),
            *own,
            *(p for p in options if p.name not in before),
        ]
        wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        return wrapper

    return decorate
