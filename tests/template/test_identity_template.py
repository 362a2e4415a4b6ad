"""The identity resources: a user pool with e-mail sign-in, a public app client, the keys table,
the authorizer, SigV4 on the operator routes, and no local-only switch set anywhere."""

from __future__ import annotations

from typing import Any

from cfntools import resources_of_type

LOCAL_FLAG = "VS_LOCAL_KEY_FALLBACK"


def _environments(sam_template: dict[str, Any]) -> list[dict[str, Any]]:
    found = [sam_template["Globals"]["Function"].get("Environment", {}).get("Variables", {})]
    for function in resources_of_type(sam_template, "AWS::Serverless::Function").values():
        found.append(function["Properties"].get("Environment", {}).get("Variables", {}))
    return found


def test_the_local_key_fallback_is_never_switched_on(sam_template: dict[str, Any]) -> None:
    declared = [env[LOCAL_FLAG] for env in _environments(sam_template) if LOCAL_FLAG in env]
    # Declared (so `sam local --env-vars` may set it) but without a value on AWS.
    assert declared == [{"Ref": "AWS::NoValue"}]
    for env in _environments(sam_template):
        assert "AWS_SAM_LOCAL" not in env


def test_users_sign_in_with_email_and_a_strong_password(sam_template: dict[str, Any]) -> None:
    pool = sam_template["Resources"]["UserPool"]["Properties"]
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert policy["RequireLowercase"] and policy["RequireUppercase"] and policy["RequireNumbers"]


def test_the_app_client_is_public_and_hides_which_users_exist(
    sam_template: dict[str, Any],
) -> None:
    client = sam_template["Resources"]["UserPoolClient"]["Properties"]
    assert client["UserPoolId"] == {"Ref": "UserPool"}
    assert client["GenerateSecret"] is False
    assert set(client["ExplicitAuthFlows"]) == {
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["EnableTokenRevocation"] is True


def test_keys_are_found_by_hash_and_listed_by_owner(sam_template: dict[str, Any]) -> None:
    table = sam_template["Resources"]["KeysTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "key_hash", "KeyType": "HASH"}]
    index = table["GlobalSecondaryIndexes"][0]
    assert index["IndexName"] == "owner-created-index"
    assert [part["AttributeName"] for part in index["KeySchema"]] == ["owner", "created_at"]


def test_the_authorizer_reads_keys_and_makes_meter_keys_only(sam_template: dict[str, Any]) -> None:
    function = sam_template["Resources"]["AuthorizerFunction"]["Properties"]
    assert function["CodeUri"] == "functions/authorizer/"
    statements = function["Policies"][0]["Statement"]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str)
                                              else s["Action"])}  # fmt: skip
    assert actions == {"dynamodb:GetItem", "dynamodb:PutItem", "apigateway:GET", "apigateway:POST"}
    assert sam_template["Resources"]["Api"]["Properties"]["Auth"]["Authorizers"]["UserOrKey"][
        "Identity"
    ] == {"ReauthorizeEvery": 0}


def test_operator_routes_are_sigv4_without_the_callers_credentials_on_the_function(
    sam_template: dict[str, Any],
) -> None:
    events = sam_template["Resources"]["ApiFunction"]["Properties"]["Events"]
    operator = {e["Properties"]["Path"]: e["Properties"] for e in events.values()
                if e["Properties"]["Path"].startswith("/operator/")}  # fmt: skip
    assert set(operator) == {"/operator/jobs", "/operator/jobs/{job_id}"}
    for route in operator.values():
        assert route["Method"] == "GET"
        assert route["Auth"] == {
            "Authorizer": "AWS_IAM",
            "InvokeRole": "NONE",
            "ApiKeyRequired": False,
        }
    outputs = sam_template["Outputs"]
    assert {"UserPoolId", "UserPoolClientId", "ApiUrl"} <= set(outputs)
