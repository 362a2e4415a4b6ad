"""The client commands' connection options: where the API is and how to reach it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import typer

from vsent.client.settings import ClientSettings, resolve
from vsent.option_groups import option_group

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


@dataclass(frozen=True)
class Connection:
    """Where the API is, as given on the command line (the environment fills the gaps later)."""

    api_url: ApiUrl = None
    api_key: ApiKey = None
    stack_name: StackName = None
    region: Region = None

    def settings(self) -> ClientSettings:
        """The API URL and key from these options, the environment, a stack or `vsent up`."""
        return resolve(self.api_url, self.api_key, self.stack_name, self.region)


def with_connection(command: Callable[..., None]) -> Callable[..., None]:
    """Give a client command the --api-url, --api-key, --stack-name and --region options, after
    its own; it receives them in its ``Connection`` parameter."""
    return option_group(Connection)(command)
