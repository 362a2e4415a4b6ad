"""One job end to end against moto: upload → submit → endpoint result → complete → GET."""

from __future__ import annotations

import json
import uuid

import requests
from support import (
    BUCKET,
    MP4_HEAD,
    USER_A,
    api_event,
    make_result,
    notification_event,
    upload_event,
)


def _post_form(url: str, fields: dict[str, str], file: tuple[str, bytes, str]) -> None:
    """What a browser does with a presigned POST: the fields, then the file."""
    posted = requests.post(url, data=fields, files={"file": file}, timeout=10)
    assert posted.status_code in {200, 204}, posted.text


def test_upload_to_completed_result(stack, load_function, context):
    api = load_function("api")
    submit = load_function("submit")
    complete = load_function("complete")

    created = api.lambda_handler(
        api_event(
            "api_create_upload",
            body={"filename": "team meeting.mp4", "content_type": "video/mp4"},
        ),
        context,
    )
    assert created["statusCode"] == 201
    upload = json.loads(created["body"])
    job_id = upload["job_id"]

    # The client's browser upload, through the presigned POST the API returned.
    video = MP4_HEAD + b"\x00" * 2048
    _post_form(
        upload["upload"]["url"],
        upload["upload"]["fields"],
        ("team meeting.mp4", video, "video/mp4"),
    )
    head = stack.s3.head_object(Bucket=BUCKET, Key=upload["key"])
    assert head["Metadata"]["owner"] == USER_A

    submitted = submit.lambda_handler(
        upload_event(upload["key"], version_id=head.get("VersionId"), size=len(video)), context
    )
    assert submitted == {"batchItemFailures": []}
    assert stack.item(job_id)["status"] == "IN_PROGRESS"
    assert stack.invocations[0]["InferenceId"] == job_id

    # What the endpoint does: read the manifest, write the result under results/, notify.
    manifest = json.loads(
        stack.s3.get_object(Bucket=BUCKET, Key=f"requests/{job_id}.json")["Body"].read()
    )
    assert manifest["video"] == f"s3://{BUCKET}/{upload['key']}"
    document = make_result(job_id)
    output_key = f"results/{uuid.uuid4()}.out"
    stack.s3.put_object(Bucket=BUCKET, Key=output_key, Body=json.dumps(document).encode())
    completed = complete.lambda_handler(
        notification_event(
            "complete_success",
            job_id,
            responseParameters__outputLocation=f"s3://{BUCKET}/{output_key}",
        ),
        context,
    )
    assert completed == {"batchItemFailures": []}

    answer = api.lambda_handler(
        api_event("api_get_job", path=f"/jobs/{job_id}", path_params={"job_id": job_id}), context
    )
    assert answer["statusCode"] == 200
    job = json.loads(answer["body"])
    assert job["status"] == "COMPLETED"
    assert job["key"] == upload["key"]
    assert job["result"] == document


def test_sidecar_uploaded_through_the_api_reaches_the_manifest(stack, load_function, context):
    api = load_function("api")
    submit = load_function("submit")
    created = api.lambda_handler(
        api_event(
            "api_create_upload",
            body={
                "filename": "team meeting.mp4",
                "content_type": "video/mp4",
                "transcript_filename": "team meeting.SRT",
            },
        ),
        context,
    )
    assert created["statusCode"] == 201
    upload = json.loads(created["body"])
    job_id = upload["job_id"]
    sidecar = upload["transcript_upload"]

    # The sidecar first, so that submit finds it when the video's event arrives.
    srt = b"1\n00:00:00,000 --> 00:00:01,500\nHello there.\n"
    _post_form(sidecar["url"], sidecar["fields"], ("team meeting.SRT", srt, "application/x-subrip"))
    stored = stack.s3.head_object(Bucket=BUCKET, Key=sidecar["key"])
    assert stored["ContentType"] == "application/x-subrip"
    assert stored["Metadata"]["owner"] == USER_A
    video = MP4_HEAD + b"\x00" * 2048
    _post_form(
        upload["upload"]["url"],
        upload["upload"]["fields"],
        ("team meeting.mp4", video, "video/mp4"),
    )

    # The sidecar's own event is skipped; the video's makes the job.
    assert submit.lambda_handler(upload_event(sidecar["key"], size=len(srt)), context) == {
        "batchItemFailures": []
    }
    head = stack.s3.head_object(Bucket=BUCKET, Key=upload["key"])
    submitted = submit.lambda_handler(
        upload_event(upload["key"], version_id=head.get("VersionId"), size=len(video)), context
    )
    assert submitted == {"batchItemFailures": []}
    assert stack.item(job_id)["status"] == "IN_PROGRESS"
    assert len(stack.invocations) == 1
    manifest = json.loads(
        stack.s3.get_object(Bucket=BUCKET, Key=f"requests/{job_id}.json")["Body"].read()
    )
    assert sidecar["key"] == f"uploads/{job_id}/team meeting.srt"
    assert manifest["video"] == f"s3://{BUCKET}/{upload['key']}"
    assert manifest["transcript"] == f"s3://{BUCKET}/{sidecar['key']}"
