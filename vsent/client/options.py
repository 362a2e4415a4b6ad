"""The client commands' connection options: where the API is and how to reach it.

Each command takes the four aliases as its last parameters and builds a :class:`Connection` from
them in its body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from vsent.client.settings import ClientSettings, resolve

ApiUrl = Annotated[
    str | None,
    typer.Option("--api-url", help="API base URL (env VSENT_API_URL)", show_default=False),
]
ApiKey = Annotated[
    str | None, typer.Option("--api-key", help="API key (env VSENT_API_KEY)", show_default=False)
]
StackName = Annotated[
    str | None,
    typer.Option("--stack-name", help="deployed stack to read (env VSENT_STACK_NAME)"),
]
Region = Annotated[str | None, typer.Option("--region", help="AWS region (env AWS_REGION)")]
Operator = Annotated[
    bool,
    typer.Option(
        "--operator",
        help="sign with your AWS credentials (SigV4) and read the jobs of videos put straight "
        "into the bucket",
    ),
]


@dataclass(frozen=True)
class Connection:
    """Where the API is, as given on the command line (the environment fills the gaps later)."""

    api_url: str | None = None
    api_key: str | None = None
    stack_name: str | None = None
    region: str | None = None

    def settings(self) -> ClientSettings:
        """The API URL and key from these options, the environment, a stack or `vsent up`."""
        return resolve(self.api_url, self.api_key, self.stack_name, self.region)
