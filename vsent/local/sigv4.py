"""SigV4 verification for the local gateway's AWS_IAM routes, as API Gateway does it: the
signature over the signed headers, the credential scope (region, execute-api) and the time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from vsent.local.spec import ACCOUNT_ID

SERVICE = "execute-api"
ALGORITHM = "AWS4-HMAC-SHA256"
# API Gateway refuses signatures more than 15 minutes away from its clock.
MAX_SKEW = timedelta(minutes=15)
_AUTHORIZATION = re.compile(
    rf"^{ALGORITHM} Credential=(?P<key>[^/]+)/(?P<date>\d{{8}})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


class SignatureError(Exception):
    """The request is not signed, or not signed by a known principal of this account."""


@dataclass(frozen=True)
class Principal:
    """Who signed: what API Gateway puts into `requestContext.identity`."""

    access_key: str
    account_id: str
    user_arn: str

    def identity(self) -> dict[str, str]:
        """The identity fields of the Lambda proxy event for this signer."""
        return {
            "accessKey": self.access_key,
            "accountId": self.account_id,
            "caller": self.access_key,
            "user": self.access_key,
            "userArn": self.user_arn,
        }


class SigV4Verifier:
    """Verifies signatures of the credentials this local account knows (moto's)."""

    def __init__(self, region: str, secrets: dict[str, str]) -> None:
        self._region = region
        self._secrets = secrets

    def verify(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Principal:
        """The signer of this request; SignatureError if the signature does not hold."""
        lowered = {name.lower(): value for name, value in headers.items()}
        if "authorization" not in lowered:
            raise SignatureError("Missing Authentication Token")
        match = _AUTHORIZATION.match(lowered["authorization"])
        if match is None:
            raise SignatureError("The Authorization header is not a SigV4 signature")
        if match["service"] != SERVICE or match["region"] != self._region:
            raise SignatureError("Credential should be scoped to a valid region and service")
        secret = self._secrets.get(match["key"])
        if secret is None:
            raise SignatureError("The security token included in the request is invalid.")
        stamp = lowered.get("x-amz-date", "")
        try:
            signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError as exc:
            raise SignatureError("Missing or malformed X-Amz-Date") from exc
        if abs(datetime.now(UTC) - signed_at) > MAX_SKEW or stamp[:8] != match["date"]:
            raise SignatureError("Signature expired")
        signed = match["signed"].split(";")
        if "host" not in signed or any(name not in lowered for name in signed):
            raise SignatureError("The request signature does not cover its headers")
        request = AWSRequest(
            method=method, url=url, data=body, headers={name: lowered[name] for name in signed}
        )
        request.context["timestamp"] = stamp
        token = lowered.get("x-amz-security-token")
        signer = SigV4Auth(Credentials(match["key"], secret, token), SERVICE, self._region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if expected != match["signature"]:
            raise SignatureError("The request signature we calculated does not match")
        return Principal(match["key"], ACCOUNT_ID, f"arn:aws:iam::{ACCOUNT_ID}:user/local-operator")
