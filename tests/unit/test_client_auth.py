"""The client's ways of proving who it is: SigV4 as the local gateway verifies it, the login
sessions file, and tokens refreshed before they expire."""

from __future__ import annotations

import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from botocore.credentials import Credentials

from vsent.client import auth
from vsent.client.auth import (
    BearerAuth,
    CognitoConfig,
    Session,
    SessionStore,
    SigV4RequestAuth,
)
from vsent.local.sigv4 import SignatureError, SigV4Verifier

URL = "http://127.0.0.1:8080/v1/operator/jobs?key=uploads%2Ftalk.mp4&limit=5"
COGNITO = CognitoConfig("client-1", "us-east-1", "http://127.0.0.1:5000")


def _signed(secret: str = "testing", method: str = "GET", body: bytes | None = None):
    request = requests.Request(method, URL, data=body).prepare()
    return SigV4RequestAuth(Credentials("testing", secret, "token"), "us-east-1")(request)


def _verify(request: requests.PreparedRequest, **changes: str):
    # The Host header as the HTTP client sends it (requests adds it only when sending).
    headers = {**request.headers, "Host": "127.0.0.1:8080", **changes}
    body = request.body or b""
    verifier = SigV4Verifier("us-east-1", {"testing": "testing"})
    return verifier.verify(request.method or "GET", request.url or URL, headers, body)


def test_a_signed_request_verifies_as_the_local_operator():
    principal = _verify(_signed())

    assert principal.access_key == "testing"
    assert principal.user_arn.endswith(":user/local-operator")


def test_a_signed_body_verifies_and_a_changed_one_does_not():
    request = _signed("testing", "POST", b'{"a": 1}')
    _verify(request)
    request.body = b'{"a": 2}'
    with pytest.raises(SignatureError):
        _verify(request)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: _verify(_signed(secret="wrong")),
        lambda r: _verify(r, Authorization=r.headers["Authorization"].replace("testing/", "x/")),
        lambda r: _verify(r, **{"X-Amz-Security-Token": "another"}),
        lambda r: _verify(
            r,
            **{
                "X-Amz-Date": (datetime.now(UTC) - timedelta(minutes=20)).strftime("%Y%m%dT%H%M%SZ")
            },
        ),
        lambda r: _verify(r, Authorization="Bearer a.b.c"),
    ],
)
def test_wrong_secrets_keys_tokens_times_and_schemes_are_refused(tamper):
    with pytest.raises(SignatureError):
        tamper(_signed())


def test_an_unsigned_request_is_missing_its_token():
    request = requests.Request("GET", URL).prepare()
    with pytest.raises(SignatureError, match="Missing Authentication Token"):
        _verify(request)


def test_sessions_are_kept_per_api_in_a_file_only_the_user_reads(tmp_path: Path):
    store = SessionStore(tmp_path / "sessions.json")
    session = Session("a@example.com", "id", "refresh", time.time() + 3600, COGNITO)

    store.put("http://api/v1/", session)

    assert store.get("http://api/v1") == session
    assert store.get("http://other/v1") is None
    assert stat.S_IMODE((tmp_path / "sessions.json").stat().st_mode) == 0o600
    store.put("http://api/v1", None)
    assert store.get("http://api/v1") is None


def test_a_token_about_to_expire_is_refreshed_and_saved(tmp_path: Path, monkeypatch):
    store = SessionStore(tmp_path / "sessions.json")
    old = Session("a@example.com", "old-id", "refresh", time.time() + 30, COGNITO)
    new = Session("a@example.com", "new-id", "refresh", time.time() + 3600, COGNITO)
    monkeypatch.setattr(auth, "refreshed", lambda session: new if session == old else None)
    bearer = BearerAuth("http://api/v1", old, store)

    request = bearer(requests.Request("GET", "http://api/v1/jobs").prepare())

    assert request.headers["Authorization"] == "Bearer new-id"
    assert store.get("http://api/v1") == new
