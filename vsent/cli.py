"""The `vsent` command: the client of a deployed or local stack, the local stack and operations.

Every command module holds a ``typer.Typer`` named ``app``: a named one is a command group
(``vsent dataset …``), an unnamed one adds its commands at the top level.
"""

import typer

from vsent.client import account
from vsent.client import commands as client_commands
from vsent.local import commands as local_commands
from vsent.ops.commands import dataset, model, stack, train

app = typer.Typer(
    help="video-sentiment: emotion and sentiment of every utterance in a video.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
for commands in (
    client_commands.app,
    account.app,
    local_commands.app,
    train.app,
    dataset.app,
    model.app,
    stack.app,
):
    app.add_typer(commands)


def main() -> None:
    """Entry point of the console script."""
    app()
