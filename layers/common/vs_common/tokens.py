"""Verification of Cognito user pool tokens (RS256 JWTs) against the pool's published keys."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

# A token is refused this long after `exp`, not earlier; clocks of issuer and verifier differ.
LEEWAY_S = 30
# Unknown key ids trigger a new download of the key set, at most this often (key rotation).
REFETCH_INTERVAL_S = 60
TOKEN_USES = ("id", "access")


class InvalidToken(Exception):
    """The token is not a valid, current token of this pool and app client."""


@dataclass(frozen=True)
class PoolConfig:
    """Where a user pool's tokens come from and where its signing keys are published."""

    region: str
    user_pool_id: str
    client_id: str
    # The Cognito endpoint to fetch keys from; empty for AWS itself (moto serves the same path).
    endpoint_url: str = ""

    @property
    def issuer(self) -> str:
        """The `iss` claim of this pool's tokens."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        """The pool's JSON Web Key Set."""
        if self.endpoint_url:
            return f"{self.endpoint_url.rstrip('/')}/{self.user_pool_id}/.well-known/jwks.json"
        return f"{self.issuer}/.well-known/jwks.json"


class CognitoVerifier:
    """Checks signature (RS256, the pool's keys), issuer, app client, token use and expiry."""

    def __init__(self, pool: PoolConfig, timeout_s: float = 5) -> None:
        self.pool = pool
        self._timeout_s = timeout_s
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _key_set(self, refresh: bool) -> KeySet:
        with self._lock:
            stale = refresh and time.monotonic() - self._fetched_at > REFETCH_INTERVAL_S
            if self._keys is None or stale:
                with urllib.request.urlopen(self.pool.jwks_url, timeout=self._timeout_s) as reply:
                    self._keys = KeySet.import_key_set(json.load(reply))
                self._fetched_at = time.monotonic()
            return self._keys

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims if it is valid; InvalidToken otherwise."""
        try:
            try:
                decoded = jwt.decode(token, self._key_set(refresh=False), algorithms=["RS256"])
            except JoseError:
                # A key the cached set lacks may be a rotated one: look again, once a minute.
                decoded = jwt.decode(token, self._key_set(refresh=True), algorithms=["RS256"])
            claims = decoded.claims
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY_S,
                iss={"essential": True, "value": self.pool.issuer},
                sub={"essential": True},
                exp={"essential": True},
                token_use={"essential": True, "values": list(TOKEN_USES)},
            ).validate(claims)
        except (JoseError, ValueError) as exc:
            raise InvalidToken(str(exc) or type(exc).__name__) from exc
        # ID tokens name the app client in `aud`, access tokens in `client_id`.
        client = claims.get("aud") if claims["token_use"] == "id" else claims.get("client_id")
        if client != self.pool.client_id:
            raise InvalidToken("the token was issued to another app client")
        return claims
