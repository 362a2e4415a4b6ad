"""`vsent signup | confirm | login | logout | usage` and `vsent keys create | list | revoke`:
a user of the stack's user pool and their API keys."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.table import Table

from vsent.client.api import ApiError
from vsent.client.auth import CognitoConfig, confirm, sign_in, sign_up
from vsent.client.commands import client_of
from vsent.client.options import ApiKey, ApiUrl, Connection, Region, StackName
from vsent.client.settings import ClientSettings, SettingsError
from vsent.errors import fail, reported

console = Console()
app = typer.Typer()
keys = typer.Typer(name="keys", help="Your API keys for scripts: create, list, revoke.")
app.add_typer(keys)

Email = Annotated[str, typer.Argument(help="e-mail address (the user name)")]
Password = Annotated[
    str, typer.Option(prompt=True, hide_input=True, help="password (prompted when not given)")
]


def _settings(connection: Connection) -> tuple[ClientSettings, CognitoConfig]:
    with reported(SettingsError):
        settings = connection.settings()
    if settings.cognito is None:
        raise fail("this API's user pool is unknown: name the stack with --stack-name")
    return settings, settings.cognito


@app.command()
def signup(
    email: Email,
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, help="at least 12 characters"
        ),
    ],
    api_url: ApiUrl = None,
    stack_name: StackName = None,
    region: Region = None,
) -> None:
    """Create a user; Cognito e-mails a code for `vsent confirm` (the local stack needs it too)."""
    _, cognito = _settings(Connection(api_url, None, stack_name, region))
    with reported(ClientError, BotoCoreError):
        sign_up(cognito, email, password)
    console.print(f"signed up {email}; confirm with: vsent confirm {email} CODE")


@app.command("confirm")
def confirm_command(
    email: Email,
    code: Annotated[str, typer.Argument(help="the code from the e-mail")],
    api_url: ApiUrl = None,
    stack_name: StackName = None,
    region: Region = None,
) -> None:
    """Confirm a sign-up with the e-mailed code."""
    _, cognito = _settings(Connection(api_url, None, stack_name, region))
    with reported(ClientError, BotoCoreError):
        confirm(cognito, email, code)
    console.print(f"{email} is confirmed; sign in with: vsent login {email}")


@app.command()
def login(
    email: Email,
    password: Password,
    api_url: ApiUrl = None,
    stack_name: StackName = None,
    region: Region = None,
) -> None:
    """Sign in; later commands act as this user (until `vsent logout`)."""
    settings, cognito = _settings(Connection(api_url, None, stack_name, region))
    with reported(ClientError, BotoCoreError):
        session = sign_in(cognito, email, password)
    settings.session_store().put(settings.api_url, session)
    console.print(f"signed in to {settings.api_url} as {email}")


@app.command()
def logout(api_url: ApiUrl = None, stack_name: StackName = None, region: Region = None) -> None:
    """Forget the signed-in user of this API."""
    with reported(SettingsError):
        settings = Connection(api_url, None, stack_name, region).settings()
    settings.session_store().put(settings.api_url, None)
    console.print(f"signed out of {settings.api_url}")


@keys.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="what the key is for, e.g. nightly-batch")],
    api_url: ApiUrl = None,
    stack_name: StackName = None,
    region: Region = None,
) -> None:
    """Create a key (needs `vsent login`); its value is printed once, store it now."""
    client, _ = client_of(Connection(api_url, None, stack_name, region))
    with reported(ApiError):
        created = client.create_key(name)
    console.print(f"key [bold]{created['key_id']}[/] ({created['name']})")
    console.print(created["value"], highlight=False, soft_wrap=True)


@keys.command("list")
def list_keys(
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
    stack_name: StackName = None,
    region: Region = None,
) -> None:
    """List your keys (ids, names, creation times; never their values)."""
    client, _ = client_of(Connection(api_url, api_key, stack_name, region))
    with reported(ApiError):
        found = client.list_keys()
    table = Table("key id", "name", "created")
    for key in found:
        table.add_row(key["key_id"], key["name"], key["created_at"])
    console.print(table)


@keys.command("revoke")
def revoke_key(
    key_id: Annotated[str, typer.Argument(help="id from `vsent keys list`")],
    api_url: ApiUrl = None,
    stack_name: StackName = None,
    region: Region = None,
) -> None:
    """Revoke a key at once (needs `vsent login`); your jobs stay yours."""
    client, _ = client_of(Connection(api_url, None, stack_name, region))
    with reported(ApiError):
        client.revoke_key(key_id)
    console.print(f"key {key_id} revoked")


@app.command()
def usage(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
    stack_name: StackName = None,
    region: Region = None,
) -> None:
    """Your quota and this month's requests per key."""
    client, _ = client_of(Connection(api_url, api_key, stack_name, region))
    with reported(ApiError):
        report = client.usage()
    if as_json:
        console.print_json(json.dumps(report))
        return
    quota, throttle = report["quota"], report["throttle"]
    console.print(
        f"quota {quota['limit']} requests per {str(quota['period']).lower()} and key; "
        f"{throttle['rate_limit']}/s, bursts of {throttle['burst_limit']}"
    )
    table = Table("key id", "name", "used", "remaining")
    rows = report["keys"] + ([report["token_requests"]] if report["token_requests"] else [])
    for row in rows:
        table.add_row(row["key_id"], row["name"], str(row["used"]), str(row["remaining"]))
    console.print(table)
