"""Users of a mocked Cognito user pool, their tokens, and the authorizer's view of them."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from joserfc import jwk, jwt
from moto.utilities.utils import load_resource
from support import ACCOUNT, REGION

from vs_common import aws

PASSWORD = "Correct-Horse-42-battery"
METHOD_ARN = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abcdef1234/v1/GET/jobs"


@dataclass(frozen=True)
class Pool:
    """A mocked user pool and its public app client."""

    pool_id: str
    client_id: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"

    def user(self, email: str | None = None) -> tuple[str, dict[str, str]]:
        """A new confirmed user signed in: (their subject, the AuthenticationResult)."""
        cognito = aws.client("cognito-idp")
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        sub = cognito.sign_up(
            ClientId=self.client_id,
            Username=email,
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": email}],
        )["UserSub"]
        cognito.admin_confirm_sign_up(UserPoolId=self.pool_id, Username=email)
        tokens = cognito.initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        return sub, tokens

    def token(self, **claims: Any) -> str:
        """A token signed with the pool's own key (moto's), with these claims over an ID token's
        (None drops a claim)."""
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "sub": str(uuid.uuid4()),
            "aud": self.client_id,
            "token_use": "id",
            "iat": now,
            "exp": now + 3600,
            **claims,
        }
        key = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
        kept = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode({"kid": "dummy", "alg": "RS256"}, kept, key)


def authorizer_event(headers: dict[str, str]) -> dict[str, Any]:
    """A REQUEST authorizer event for GET /jobs with these headers."""
    return {
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "resource": "/jobs",
        "path": "/jobs",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"accountId": ACCOUNT, "apiId": "abcdef1234", "stage": "v1"},
    }
