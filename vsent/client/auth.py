"""How the client proves who it is: an API key, a signed-in user's token, or the operator's
AWS credentials (SigV4, for the operator routes).

Tokens come from the stack's Cognito user pool (USER_PASSWORD_AUTH with its public app client)
and are kept per API URL in a file only the user can read; they are refreshed before they
expire. Cognito's sign-up, sign-in and refresh calls need no AWS credentials.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

# Refresh this long before the ID token expires, so a request never carries a stale one.
REFRESH_MARGIN_S = 120


@dataclass(frozen=True)
class CognitoConfig:
    """A user pool's public app client, and where Cognito answers (moto locally)."""

    client_id: str
    region: str
    endpoint_url: str | None = None

    def client(self) -> Any:
        """A cognito-idp client; its user calls are unsigned, as a browser's are."""
        return boto3.client(
            "cognito-idp",
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            config=Config(signature_version=UNSIGNED),
        )


@dataclass(frozen=True)
class Session:
    """A signed-in user's tokens for one API."""

    email: str
    id_token: str
    refresh_token: str
    expires_at: float
    cognito: CognitoConfig

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        """The session as SessionStore wrote it."""
        return cls(**{**data, "cognito": CognitoConfig(**data["cognito"])})


def sign_up(cognito: CognitoConfig, email: str, password: str) -> str:
    """Register a user (Cognito e-mails a confirmation code); returns their subject."""
    response = cognito.client().sign_up(
        ClientId=cognito.client_id,
        Username=email,
        Password=password,
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    return response["UserSub"]


def confirm(cognito: CognitoConfig, email: str, code: str) -> None:
    """Confirm a sign-up with the code from the e-mail."""
    cognito.client().confirm_sign_up(
        ClientId=cognito.client_id, Username=email, ConfirmationCode=code
    )


def sign_in(cognito: CognitoConfig, email: str, password: str) -> Session:
    """USER_PASSWORD_AUTH: the user's tokens."""
    result = cognito.client().initiate_auth(
        ClientId=cognito.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )["AuthenticationResult"]
    return Session(
        email,
        result["IdToken"],
        result["RefreshToken"],
        time.time() + int(result["ExpiresIn"]),
        cognito,
    )


def refreshed(session: Session) -> Session:
    """New tokens from the refresh token (the refresh token itself stays)."""
    result = session.cognito.client().initiate_auth(
        ClientId=session.cognito.client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": session.refresh_token},
    )["AuthenticationResult"]
    return Session(
        session.email,
        result["IdToken"],
        session.refresh_token,
        time.time() + int(result["ExpiresIn"]),
        session.cognito,
    )


class SessionStore:
    """Signed-in sessions by API URL, in a JSON file readable by its owner only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _all(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def get(self, api_url: str) -> Session | None:
        """The session for this API, if the user signed in to it."""
        data = self._all().get(api_url.rstrip("/"))
        return Session.from_dict(data) if data else None

    def put(self, api_url: str, session: Session | None) -> None:
        """Remember (or, with None, forget) the session for this API."""
        sessions = self._all()
        if session is None:
            sessions.pop(api_url.rstrip("/"), None)
        else:
            sessions[api_url.rstrip("/")] = asdict(session)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staged = self.path.with_suffix(".tmp")
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(sessions, out, indent=2)
        staged.replace(self.path)


class BearerAuth(requests.auth.AuthBase):
    """`Authorization: Bearer <ID token>`, refreshed (and saved) shortly before it expires."""

    def __init__(self, api_url: str, session: Session, store: SessionStore | None = None) -> None:
        self._api_url = api_url
        self.session = session
        self._store = store

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.session.expires_at - time.time() < REFRESH_MARGIN_S:
            self.session = refreshed(self.session)
            if self._store is not None:
                self._store.put(self._api_url, self.session)
        request.headers["Authorization"] = f"Bearer {self.session.id_token}"
        return request


class SigV4RequestAuth(requests.auth.AuthBase):
    """SigV4 for API Gateway (`execute-api`) with the operator's AWS credentials."""

    def __init__(self, credentials: Credentials, region: str) -> None:
        self._credentials = credentials
        self._region = region

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        signed = AWSRequest(
            method=request.method,
            url=request.url,
            data=body.encode("utf-8") if isinstance(body, str) else body,
            headers={"Content-Type": request.headers["Content-Type"]}
            if "Content-Type" in request.headers
            else {},
        )
        SigV4Auth(self._credentials, "execute-api", self._region).add_auth(signed)
        request.headers.update(dict(signed.headers))
        return request


def operator_credentials(region: str | None) -> tuple[Credentials, str]:
    """The AWS credentials (and region) boto3 finds: environment, profile, SSO, instance role."""
    session = boto3.session.Session(region_name=region)
    credentials = session.get_credentials()
    if credentials is None or not session.region_name:
        raise ValueError("operator requests need AWS credentials and a region (aws configure)")
    return credentials.get_frozen_credentials(), session.region_name
