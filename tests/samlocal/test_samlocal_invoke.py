"""`sam local invoke` of every function with its events/ file, in Lambda containers, against the
stack seeded in moto; each test asserts on what the invocation changed there."""

from __future__ import annotations

import json
from typing import Any

from samlocal_harness import ROOT
from samlocal_stack import (
    EVENT_API_KEY,
    EVENT_ID_TOKEN,
    EVENT_JOB_ID,
    EVENT_KEY_ID,
    EVENT_OWNER,
    EVENT_RESULT_ID,
    EVENT_VERSION_ID,
    MP4_BYTES,
    Tier,
    load_event,
    new_job_id,
    result_document,
    seed_job,
    upload_key,
)

from vs_common.jobs import JobStatus
from vs_common.keys import parse_s3_uri


def _put_upload(
    tier: Tier, job_id: str, status: JobStatus = JobStatus.AWAITING_UPLOAD, **fields: Any
) -> str:
    """Upload the events' video for `job_id` as a presigned POST would, after writing its row
    (POST /uploads writes AWAITING_UPLOAD, and submit wants it for a key of that shape); returns
    the object's version."""
    seed_job(tier.store, job_id, status, **fields)
    response = tier.s3.put_object(
        Bucket=tier.stack.bucket,
        Key=upload_key(job_id),
        Body=MP4_BYTES,
        ContentType="video/mp4",
        Metadata={"owner": EVENT_OWNER},
    )
    return response["VersionId"]


def _submit_event(job_id: str, version_id: str) -> dict[str, Any]:
    return load_event(ROOT, "submit_upload", {EVENT_JOB_ID: job_id, EVENT_VERSION_ID: version_id})


def _body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def test_submit_writes_the_job_and_invokes_the_endpoint(tier: Tier) -> None:
    job_id = new_job_id()
    version_id = _put_upload(tier, job_id)
    marker = json.dumps({"samlocal": job_id})
    tier.moto.queue_async_inference_result(marker)

    result = tier.sam.invoke("SubmitFunction", _submit_event(job_id, version_id), tier.env_vars)

    assert result.response == {"batchItemFailures": []}, result.log
    job = tier.store.get(job_id)
    assert job is not None
    assert job.status is JobStatus.IN_PROGRESS
    assert job.owner == EVENT_OWNER
    assert job.version_id == version_id
    manifest_key = f"requests/{job_id}.json"
    assert job.manifest_key == manifest_key
    manifest = json.loads(
        tier.s3.get_object(Bucket=tier.stack.bucket, Key=manifest_key)["Body"].read()
    )
    assert manifest["video"] == f"s3://{tier.stack.bucket}/{upload_key(job_id)}"
    # moto's InvokeEndpointAsync writes the queued result where its answer says the output
    # will be: finding it there proves the call reached the endpoint.
    assert job.output_location is not None
    bucket, key = parse_s3_uri(job.output_location)
    assert tier.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode() == marker


def test_submit_without_an_endpoint_returns_the_message_and_keeps_the_job(tier: Tier) -> None:
    job_id = new_job_id()
    version_id = _put_upload(tier, job_id)
    event = _submit_event(job_id, version_id)
    env_vars = tier.env_vars_with("SubmitFunction", ENDPOINT_NAME="")

    result = tier.sam.invoke("SubmitFunction", event, env_vars)

    message_id = event["Records"][0]["messageId"]
    assert result.response == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    job = tier.store.get(job_id)
    assert job is not None
    assert job.status is JobStatus.QUEUED
    assert job.output_location is None


def _complete_event(name: str, job_id: str, result_id: str) -> dict[str, Any]:
    return load_event(ROOT, name, {EVENT_JOB_ID: job_id, EVENT_RESULT_ID: result_id})


def test_complete_success_stores_the_result(tier: Tier) -> None:
    job_id, result_id = new_job_id(), new_job_id()
    seed_job(tier.store, job_id, JobStatus.IN_PROGRESS)
    document = result_document(job_id)
    tier.s3.put_object(
        Bucket=tier.stack.bucket,
        Key=f"results/{result_id}.out",
        Body=json.dumps(document).encode(),
        ContentType="application/json",
    )

    result = tier.sam.invoke(
        "CompleteFunction", _complete_event("complete_success", job_id, result_id), tier.env_vars
    )

    assert result.response == {"batchItemFailures": []}, result.log
    job = tier.store.get(job_id)
    assert job is not None
    assert job.status is JobStatus.COMPLETED
    assert job.result == document
    assert job.output_location == f"s3://{tier.stack.bucket}/results/{result_id}.out"


def test_complete_failure_records_the_reason(tier: Tier) -> None:
    job_id, result_id = new_job_id(), new_job_id()
    seed_job(tier.store, job_id, JobStatus.IN_PROGRESS)

    result = tier.sam.invoke(
        "CompleteFunction", _complete_event("complete_failure", job_id, result_id), tier.env_vars
    )

    assert result.response == {"batchItemFailures": []}, result.log
    job = tier.store.get(job_id)
    assert job is not None
    assert job.status is JobStatus.FAILED
    assert job.reason is not None
    assert "no video stream" in job.reason


def _api(tier: Tier, name: str, job_id: str | None = None) -> tuple[int, Any]:
    event = load_event(ROOT, name, {EVENT_JOB_ID: job_id} if job_id else {})
    response = tier.sam.invoke("ApiFunction", event, tier.env_vars).response
    return response["statusCode"], _body(response)


def test_api_get_job_returns_the_job_with_its_result(tier: Tier) -> None:
    job_id = new_job_id()
    document = result_document(job_id)
    seed_job(tier.store, job_id, JobStatus.COMPLETED, result_json=json.dumps(document))

    status, body = _api(tier, "api_get_job", job_id)

    assert status == 200, body
    assert body["job_id"] == job_id
    assert body["status"] == "COMPLETED"
    assert body["result"] == document


def test_api_get_job_of_an_unknown_id_is_404(tier: Tier) -> None:
    status, body = _api(tier, "api_get_job", new_job_id())

    assert status == 404
    assert body["error"]["code"] == "not_found"


def test_api_list_jobs_includes_the_callers_job(tier: Tier) -> None:
    job_id = new_job_id()
    seed_job(tier.store, job_id, JobStatus.QUEUED)

    status, body = _api(tier, "api_list_jobs")

    assert status == 200, body
    listed = [job["job_id"] for job in body["jobs"]]
    assert job_id in listed
    created = [job["created_at"] for job in body["jobs"]]
    assert created == sorted(created, reverse=True)


def test_api_find_job_by_key(tier: Tier) -> None:
    job_id = new_job_id()
    seed_job(tier.store, job_id, JobStatus.QUEUED)

    status, body = _api(tier, "api_find_job_by_key", job_id)

    assert status == 200, body
    assert [job["job_id"] for job in body["jobs"]] == [job_id]
    assert body["jobs"][0]["key"] == upload_key(job_id)


def test_api_create_upload_writes_an_awaiting_job(tier: Tier) -> None:
    status, body = _api(tier, "api_create_upload")

    assert status == 201, body
    job_id = body["job_id"]
    assert body["key"] == upload_key(job_id)
    assert body["upload"]["fields"]["x-amz-meta-owner"] == EVENT_OWNER
    job = tier.store.get(job_id)
    assert job is not None
    assert job.status is JobStatus.AWAITING_UPLOAD
    assert job.owner == EVENT_OWNER


def test_api_delete_job_removes_the_row_and_the_video(tier: Tier) -> None:
    job_id = new_job_id()
    _put_upload(tier, job_id, JobStatus.FAILED, reason="not a video")

    status, body = _api(tier, "api_delete_job", job_id)

    assert status == 204, body
    assert tier.store.get(job_id) is None
    listed = tier.s3.list_object_versions(Bucket=tier.stack.bucket, Prefix=f"uploads/{job_id}/")
    assert not listed.get("Versions")


def test_authorizer_allows_the_events_key_as_its_owner(tier: Tier) -> None:
    event = load_event(ROOT, "authorizer_key", {})

    response = tier.sam.invoke("AuthorizerFunction", event, tier.env_vars).response

    assert response["principalId"] == EVENT_OWNER
    assert response["context"] == {"owner": EVENT_OWNER, "auth": "key", "key_id": EVENT_KEY_ID}
    assert response["usageIdentifierKey"] == EVENT_API_KEY
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_authorizer_verifies_a_pool_token_with_the_keys_moto_publishes(tier: Tier) -> None:
    cognito = tier.moto.client("cognito-idp")
    pool_id = cognito.create_user_pool(PoolName="vs-samlocal-users")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="ana", TemporaryPassword="Tmp-pass-123")
    cognito.admin_set_user_password(
        UserPoolId=pool_id, Username="ana", Password="Correct-Horse-42", Permanent=True
    )
    sub = cognito.admin_get_user(UserPoolId=pool_id, Username="ana")["UserAttributes"]
    tokens = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ana", "PASSWORD": "Correct-Horse-42"},
    )["AuthenticationResult"]
    event = load_event(ROOT, "authorizer_token", {EVENT_ID_TOKEN: tokens["IdToken"]})
    env_vars = tier.env_vars_with(
        "AuthorizerFunction", USER_POOL_ID=pool_id, USER_POOL_CLIENT_ID=client_id
    )

    result = tier.sam.invoke("AuthorizerFunction", event, env_vars)

    owner = next(attr["Value"] for attr in sub if attr["Name"] == "sub")
    assert result.response["context"] == {"owner": owner, "auth": "token", "key_id": ""}, result.log
    assert result.response["usageIdentifierKey"] == f"meter-{owner}"
