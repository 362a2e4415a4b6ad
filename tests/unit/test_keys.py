"""Users' API keys through the API: created with a token (value shown once, only its hash kept),
listed, revoked at once; the jobs stay the user's."""

from __future__ import annotations

import json

import pytest
from support import KEYS_TABLE, USER_A, USER_B, api_event, call_api

from vs_common import aws
from vs_common.apikeys import MAX_KEYS_PER_USER
from vs_common.identity import hash_key


@pytest.fixture
def api(pool, load_function):
    return load_function("api")


def _keys_event(method: str, path: str, owner: str = USER_A, auth: str = "token", body=None):
    event = api_event("api_list_jobs", owner=owner, path=path)
    resource = "/keys/{key_id}" if path.startswith("/keys/") else path
    event.update(httpMethod=method, resource=resource, queryStringParameters=None)
    event["multiValueQueryStringParameters"] = None
    event["requestContext"].update(httpMethod=method, resourcePath=resource)
    event["requestContext"]["authorizer"]["auth"] = auth
    if path.startswith("/keys/"):
        event["pathParameters"] = {"key_id": path.rsplit("/", 1)[1]}
    if body is not None:
        event["body"] = json.dumps(body)
    return event


def test_a_new_key_is_shown_once_kept_as_a_hash_and_joins_the_usage_plan(api, context):
    status, created = call_api(api, context, _keys_event("POST", "/keys", body={"name": "batch"}))

    assert status == 201
    assert set(created) == {"key_id", "name", "created_at", "value"}
    rows = aws.table(KEYS_TABLE).scan()["Items"]
    assert [row["key_hash"] for row in rows] == [hash_key(created["value"])]
    assert created["value"] not in json.dumps(rows, default=str)
    apigateway = aws.client("apigateway")
    plan = apigateway.get_usage_plans()["items"][0]
    in_plan = apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert [(key["id"], key["value"]) for key in in_plan] == [(created["key_id"], created["value"])]
    status, listed = call_api(api, context, _keys_event("GET", "/keys"))
    assert listed == {"keys": [{k: created[k] for k in ("key_id", "name", "created_at")}]}


def test_revoking_removes_the_key_and_its_row_and_only_the_owner_may(api, context):
    _, first = call_api(api, context, _keys_event("POST", "/keys", body={"name": "one"}))
    _, second = call_api(api, context, _keys_event("POST", "/keys", body={"name": "two"}))

    by_other = call_api(api, context, _keys_event("DELETE", f"/keys/{first['key_id']}", USER_B))
    by_owner = call_api(api, context, _keys_event("DELETE", f"/keys/{first['key_id']}"))
    again = call_api(api, context, _keys_event("DELETE", f"/keys/{first['key_id']}"))

    assert by_other[0] == 404
    assert by_owner[0] == 204
    assert again[0] == 404
    ids = [key["id"] for key in aws.client("apigateway").get_api_keys()["items"]]
    assert ids == [second["key_id"]]
    _, listed = call_api(api, context, _keys_event("GET", "/keys"))
    assert [key["key_id"] for key in listed["keys"]] == [second["key_id"]]


def test_a_key_cannot_mint_or_revoke_keys(api, context):
    _, created = call_api(api, context, _keys_event("POST", "/keys", body={"name": "one"}))

    minted = call_api(api, context, _keys_event("POST", "/keys", auth="key", body={"name": "x"}))
    revoked = call_api(
        api, context, _keys_event("DELETE", f"/keys/{created['key_id']}", auth="key")
    )
    listed = call_api(api, context, _keys_event("GET", "/keys", auth="key"))

    assert minted[0] == revoked[0] == 403
    assert listed[0] == 200


def test_a_user_holds_a_bounded_number_of_keys(api, context):
    for index in range(MAX_KEYS_PER_USER):
        assert (
            call_api(api, context, _keys_event("POST", "/keys", body={"name": f"k{index}"}))[0]
            == 201
        )

    status, body = call_api(api, context, _keys_event("POST", "/keys", body={"name": "one more"}))

    assert status == 409
    assert body["error"]["code"] == "too_many_keys"


@pytest.mark.parametrize("name", ["", " ", "a" * 65, "tab\there", None])
def test_key_names_are_validated(api, context, name):
    body = {} if name is None else {"name": name}
    status, answer = call_api(api, context, _keys_event("POST", "/keys", body=body))

    assert status == 422, answer
    assert aws.table(KEYS_TABLE).scan()["Items"] == []
