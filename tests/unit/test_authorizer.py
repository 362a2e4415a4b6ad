"""The authorizer: Cognito tokens verified against the pool's keys, users' API keys by hash, the
usage plan key of each request, and nothing else."""

from __future__ import annotations

import time

import pytest
from identity_support import METHOD_ARN, Pool, authorizer_event
from support import KEYS_TABLE

from vs_common import aws
from vs_common.apikeys import KeyStore, meter_value
from vs_common.identity import hash_key


@pytest.fixture
def authorizer(pool, load_function):
    return load_function("authorizer")


def _allowed(response: dict) -> bool:
    statements = response["policyDocument"]["Statement"]
    return any(s["Effect"] == "Allow" for s in statements) and not any(
        s["Effect"] == "Deny" for s in statements
    )


@pytest.mark.parametrize("token_use", ["IdToken", "AccessToken"])
def test_a_users_token_is_allowed_as_that_user_and_metered_on_their_key(
    authorizer,
    pool: Pool,
    context,
    token_use,
):
    sub, tokens = pool.user()

    response = authorizer.lambda_handler(
        authorizer_event({"Authorization": f"Bearer {tokens[token_use]}"}), context
    )

    assert _allowed(response)
    assert response["principalId"] == sub
    assert response["context"] == {"owner": sub, "auth": "token", "key_id": ""}
    assert response["usageIdentifierKey"] == meter_value(sub)
    plan = aws.client("apigateway").get_usage_plans()["items"][0]
    in_plan = aws.client("apigateway").get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert [key["value"] for key in in_plan] == [meter_value(sub)]
    assert response["policyDocument"]["Statement"][0]["Resource"] == [
        METHOD_ARN.rsplit("/", 2)[0] + "/*/*"
    ]


def test_the_meter_key_is_made_once_per_user(authorizer, pool: Pool, context):
    _, tokens = pool.user()
    event = authorizer_event({"authorization": f"bearer {tokens['IdToken']}"})

    authorizer.lambda_handler(event, context)
    authorizer.lambda_handler(event, context)

    assert len(aws.client("apigateway").get_api_keys()["items"]) == 1


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": int(time.time()) - 3600},  # expired an hour ago
        {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"},
        {"aud": "another-app-client"},
        {"token_use": "refresh"},
        {"token_use": "access"},  # an access token names its client in client_id, not aud
        {"sub": None},  # no subject, no tenant
        {"exp": None},  # never expiring is not a Cognito token
    ],
)
def test_tokens_of_another_pool_client_or_time_are_unauthorized(
    authorizer,
    pool: Pool,
    context,
    claims,
):
    token = pool.token(**claims)

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.lambda_handler(authorizer_event({"Authorization": f"Bearer {token}"}), context)


def test_a_token_not_signed_by_the_pool_is_unauthorized(
    authorizer,
    pool: Pool,
    context,
):
    header, payload, _ = pool.token().split(".")
    unsigned = f"{header}.{payload}."
    _, tokens = pool.user()
    head, _, signature = tokens["IdToken"].split(".")
    spliced = f"{head}.{payload}.{signature}"  # another token's claims under this signature

    for token in (unsigned, spliced, "not-a-jwt"):
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            authorizer.lambda_handler(
                authorizer_event({"Authorization": f"Bearer {token}"}), context
            )


def test_a_users_key_is_allowed_as_its_owner_and_is_its_own_usage_key(
    authorizer,
    pool: Pool,
    context,
):
    sub, _ = pool.user()
    KeyStore(aws.table(KEYS_TABLE)).put("vsk_" + "a" * 40, "keyid1", sub, "batch")

    response = authorizer.lambda_handler(
        authorizer_event({"X-Api-Key": "vsk_" + "a" * 40}), context
    )

    assert _allowed(response)
    assert response["context"] == {"owner": sub, "auth": "key", "key_id": "keyid1"}
    assert response["usageIdentifierKey"] == "vsk_" + "a" * 40
    item = aws.table(KEYS_TABLE).scan()["Items"][0]
    assert item["key_hash"] == hash_key("vsk_" + "a" * 40)
    assert "vsk_" + "a" * 40 not in str(item)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-api-key": "vsk_unknown"},
        {"x-api-key": "meter-" + "0" * 36},  # a meter key's value is no credential
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
    ],
)
def test_anything_else_is_unauthorized(authorizer, pool: Pool, context, headers):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.lambda_handler(authorizer_event(headers), context)
