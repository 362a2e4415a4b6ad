"""The `vsent` command: the client of a deployed or local stack, the local stack and operations."""

import typer

from vsent.client.commands import register as register_client
from vsent.ops.commands import register as register_ops
from vsent.stack.commands import register as register_stack

app = typer.Typer(
    help="video-sentiment: emotion and sentiment of every utterance in a video.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
register_client(app)
register_stack(app)
register_ops(app)


def main() -> None:
    """Entry point of the console script."""
    app()
