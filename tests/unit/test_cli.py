"""The `vsent` command tree: every command builds and documents its options."""

from __future__ import annotations

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from vsent.cli import app


def _commands(group: TyperGroup, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*path, name))
        if isinstance(command, TyperGroup):
            found += _commands(command, (*path, name))
    return found


COMMANDS = _commands(typer.main.get_group(app))


def test_the_tree_has_every_command_group() -> None:
    assert {c[0] for c in COMMANDS} >= {
        "submit", "status", "wait", "result", "plot", "analyze", "up", "down", "demo",
        "train", "dataset", "model", "stack",
    }  # fmt: skip
    assert {c for c in COMMANDS if len(c) == 2} >= {
        ("dataset", "upload"), ("dataset", "cache"), ("model", "package"), ("model", "deploy"),
        ("stack", "costs"), ("stack", "stop-endpoint"),
        ("keys", "create"), ("keys", "list"), ("keys", "revoke"),
    }  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (("submit",), ["--transcript", "--api-url", "--api-key", "--stack-name", "--region"]),
        (("dataset", "cache"), ["--bucket", "--role", "--tag", "--no-wait", "--dry-run"]),
        (("train",), ["--bucket", "--role", "--no-spot", "--tag", "--region", "--dry-run"]),
        (("model", "deploy"), ["--no-build", "--stack-name", "--dry-run"]),
    ],
)
def test_shared_options_reach_each_command(command: tuple[str, ...], options: list[str]) -> None:
    text = CliRunner().invoke(app, [*command, "--help"], terminal_width=200).output
    assert all(option in text for option in options), text


def test_train_says_where_its_hyperparameters_go() -> None:
    text = CliRunner().invoke(app, ["train", "--help"], terminal_width=200).output
    assert "train.py hyperparameter" in text and "--epochs" not in text.split("Options")[1]
