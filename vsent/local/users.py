"""The local stack's ready user: signed up in the user pool, confirmed, with an API key made
through the API itself (POST /keys with the user's token), as a person would make one."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests
from botocore.exceptions import ClientError

DEMO_EMAIL = "demo@vsent.local"


@dataclass(frozen=True)
class DemoUser:
    """A confirmed user of the local pool and one API key of theirs."""

    email: str
    password: str
    sub: str
    api_key: str
    api_key_id: str


def new_password() -> str:
    """A random password that meets the template's policy (upper, lower, digits, 12+)."""
    return "Vs1-" + secrets.token_urlsafe(18) + "aZ9"


def sign_up(cognito: Any, pool_id: str, client_id: str, email: str, password: str) -> str:
    """Sign a user up as the page would, and confirm them as an administrator (no e-mail
    leaves this machine); returns their subject."""
    response = cognito.sign_up(
        ClientId=client_id,
        Username=email,
        Password=password,
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    cognito.admin_confirm_sign_up(UserPoolId=pool_id, Username=email)
    return response["UserSub"]


def sign_in(cognito: Any, client_id: str, email: str, password: str) -> dict[str, Any]:
    """USER_PASSWORD_AUTH: the AuthenticationResult (IdToken, AccessToken, RefreshToken)."""
    return cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )["AuthenticationResult"]


def create_demo_user(cognito: Any, pool_id: str, client_id: str, api_url: str) -> DemoUser:
    """Sign up the demo user, sign in, and create an API key through the API."""
    password = new_password()
    sub = sign_up(cognito, pool_id, client_id, DEMO_EMAIL, password)
    tokens = sign_in(cognito, client_id, DEMO_EMAIL, password)
    response = requests.post(
        f"{api_url}/keys",
        json={"name": "local stack"},
        headers={"Authorization": f"Bearer {tokens['IdToken']}"},
        timeout=60,
    )
    response.raise_for_status()
    key = response.json()
    return DemoUser(DEMO_EMAIL, password, sub, key["value"], key["key_id"])


def saved_demo_user(path: Path, apigateway: Any) -> DemoUser | None:
    """The demo user a previous run of this stack saved at `path`, if their key still exists."""
    try:
        user = DemoUser(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    try:
        apigateway.get_api_key(apiKey=user.api_key_id)
    except ClientError:
        return None
    return user


def save_demo_user(path: Path, user: DemoUser) -> None:
    """Keep the demo user's password and key for the next run (readable by this user only)."""
    staged = path.with_suffix(".tmp")
    staged.touch(mode=0o600)
    staged.write_text(json.dumps(asdict(user)), encoding="utf-8")
    staged.replace(path)
