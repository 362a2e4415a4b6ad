"""The shared layer's pure parts: keys, video sniffing, failure reasons, schema, settings."""

from __future__ import annotations

import base64
import json
import os
from types import SimpleNamespace

import boto3
import botocore.exceptions
import pytest
from support import BUCKET, EVENTS, make_result

from vs_common import results
from vs_common.api_models import JobView
from vs_common.jobs import Job, JobStatus
from vs_common.keys import (
    InvalidKey,
    clean_filename,
    decode_event_key,
    derived_job_id,
    job_id_from_key,
    parse_s3_uri,
    sidecar_keys,
)
from vs_common.notifications import NotificationRecord
from vs_common.objects import head
from vs_common.pagination import InvalidToken, TokenSigner
from vs_common.reasons import (
    FailureCode,
    content_failure,
    inference_failure,
    schema_codes,
    upload_failure,
)
from vs_common.settings import Settings, SettingsError
from vs_common.sidecars import transcript_key
from vs_common.videos import container_of, name_problem


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("uploads/my+clip.mp4", "uploads/my clip.mp4"),
        ("uploads/a%2Bb.mp4", "uploads/a+b.mp4"),
        ("uploads/vid%C3%A9o+%F0%9F%98%80.mp4", "uploads/vidéo 😀.mp4"),
        ("uploads/100%25.mp4", "uploads/100%.mp4"),
    ],
)
def test_event_keys_decode(raw, key):
    assert decode_event_key(raw) == key


def test_job_ids():
    job = "0123456789abcdef0123456789abcdef"
    assert job_id_from_key("uploads/", f"uploads/{job}/clip.mp4") == job
    assert job_id_from_key("uploads/", f"uploads/{job}/deeper/clip.mp4") is None
    assert job_id_from_key("uploads/", "uploads/clip.mp4") is None
    assert derived_job_id("b", "k", "v1") == derived_job_id("b", "k", "v1")
    assert derived_job_id("b", "k", "v1") != derived_job_id("b", "k", "v2")
    assert len(derived_job_id("b", "k", "v1")) == 32


def test_file_names_and_sidecars():
    assert clean_filename("../../etc/clip.mp4") == "clip.mp4"
    assert clean_filename("C:\\Users\\me\\clip.mp4") == "clip.mp4"
    with pytest.raises(InvalidKey):
        clean_filename("bad\x00name.mp4")
    with pytest.raises(InvalidKey):
        clean_filename("..")
    assert sidecar_keys("uploads/x/talk.mp4", (".srt", ".vtt")) == [
        "uploads/x/talk.srt",
        "uploads/x/talk.vtt",
    ]
    assert transcript_key("uploads/x/talk.v2.mp4", "Talk Notes.SRT") == "uploads/x/talk.v2.srt"
    assert parse_s3_uri("s3://bucket/results/a b.out") == ("bucket", "results/a b.out")
    with pytest.raises(InvalidKey):
        parse_s3_uri("https://bucket/key")


@pytest.mark.parametrize(
    ("head", "family"),
    [
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00", "mp4/mov"),
        (b"\x00\x00\x00\x08wide\x00\x00\x00\x00", "mp4/mov"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "matroska/webm"),
        (b"RIFF\x00\x10\x00\x00AVI LIST", "avi"),
        (b"RIFF\x00\x10\x00\x00WAVEfmt ", None),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0d", None),
        (b"", None),
    ],
)
def test_container_sniffing(head, family):
    assert container_of(head) == family


def test_upload_problems_read_as_sentences_with_a_code():
    assert name_problem("clip.MP4") is None
    assert upload_failure("clip.MP4", 10, 100) is None
    assert content_failure("a.mp4", b"\x00\x00\x00\x18ftypisom") is None
    cases = [
        (upload_failure("clip.gif", 10, 100), "not_a_video", "'clip.gif' is not a video: its name"),
        (upload_failure("a.mp4", 0, 10), "empty_file", "'a.mp4' is empty (0 bytes)."),
        (
            upload_failure("big.mov", 3 * 1024**3, 2 * 1024**3),
            "too_large",
            "'big.mov' is 3.0 GiB, over the limit of 2.0 GiB.",
        ),
        (
            content_failure("a.mp4", b"GIF89a"),
            "not_a_video",
            "'a.mp4' is not a video: its content is not an MP4/MOV, Matroska/WebM or AVI file.",
        ),
    ]
    for failure, code, sentence in cases:
        assert failure is not None
        assert failure.code == code
        assert failure.message.startswith(sentence)


def test_failure_codes_are_the_schemas():
    assert schema_codes() == {code.value for code in FailureCode}


_SEE = (
    "See https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
    "#logEventViewer:group=/aws/sagemaker/Endpoints/e in account 123456789012 for more information."
)


@pytest.mark.parametrize(
    ("reason", "code", "sentence"),
    [
        (
            'ClientError: Received client error (400) from primary with message "{"code": 400, '
            '"type": "no_video_stream", "message": "\'talk.mp4\' has no video stream: it holds'
            ' only audio."}". ' + _SEE,
            "no_video_stream",
            "'talk.mp4' has no video stream: it holds only audio.",
        ),
        (
            'ServerError: Received server error (500) from primary with message "{\n  "code": 500,'
            '\n  "type": "InternalServerException",\n  "message": "MediaError at /tmp/vs-video-'
            'bx8dwjsh.mp4"\n}\n". ' + _SEE,
            "model_error",
            "The model failed on 'talk.mp4' because of an error in the service",
        ),
        (
            "ClientError: HTTPConnectionPool(host='127.0.0.1', port=48425): Max retries exceeded"
            " with url: /invocations (Caused by NewConnectionError: Connection refused)",
            "unavailable",
            "'talk.mp4' could not be analysed because the model was unavailable",
        ),
        ("Inference request timed out", "unavailable", "'talk.mp4' could not be analysed"),
        ("", "model_error", "The model failed on 'talk.mp4'"),
        (None, "model_error", "The model failed on 'talk.mp4'"),
    ],
)
def test_inference_failures_keep_internals_out_of_the_reason(reason, code, sentence):
    failure = inference_failure(reason, "talk.mp4")
    assert failure.code == code
    assert failure.message.startswith(sentence)
    for internal in ("127.0.0.1", "48425", "/tmp/", "vs-video-", "HTTPConnectionPool", "Error:"):
        assert internal not in failure.message


def test_notification_event_files_parse():
    for name, status in (("complete_success", "Completed"), ("complete_failure", "Failed")):
        event = json.loads((EVENTS / f"{name}.json").read_text())
        record = NotificationRecord.model_validate(event["Records"][0])
        assert record.body.Message.invocationStatus == status


def test_schema_accepts_a_document_and_names_the_first_problem():
    results.validate(make_result("j", utterances=3))
    broken = make_result("j")
    del broken["utterances"][0]["emotion"]["scores"]["joy"]
    with pytest.raises(results.InvalidResult, match="at utterances/0/emotion/scores: 'joy'"):
        results.validate(broken)
    extra_emotion = make_result("j")
    extra_emotion["summary"]["emotion"]["boredom"] = 0.1
    with pytest.raises(results.InvalidResult, match="summary/emotion"):
        results.validate(extra_emotion)
    for segmentation in ("transcript", "asr", "vad", "fixed", "none"):
        results.validate({**make_result("j"), "segmentation": segmentation})


def _settings_from(monkeypatch: pytest.MonkeyPatch, **variables: str) -> Settings:
    """The settings read from an environment holding only `variables`."""
    monkeypatch.setattr(os, "environ", dict(variables))
    return Settings.from_env()


def test_settings_come_from_the_environment(monkeypatch):
    settings = _settings_from(
        monkeypatch,
        JOBS_TABLE="t",
        BUCKET=" b ",
        UPLOAD_PREFIX="in",
        MAX_VIDEO_BYTES="10",
        ENDPOINT_NAME="",
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_ENDPOINT_URL="http://moto:5000",
    )
    assert (settings.bucket, settings.upload_prefix, settings.results_prefix) == (
        "b",
        "in/",
        "results/",
    )
    assert (settings.max_video_bytes, settings.max_video_seconds) == (10, 600)
    assert (settings.endpoint_name, settings.region) == ("", "eu-west-1")
    assert settings.cognito_endpoint_url == "http://moto:5000"
    assert not settings.local_key_fallback
    with pytest.raises(SettingsError, match="environment variable BUCKET is required"):
        _settings_from(monkeypatch, JOBS_TABLE="t", BUCKET="  ")
    with pytest.raises(
        SettingsError, match="MAX_VIDEO_BYTES='lots': Input should be a valid integer"
    ):
        _settings_from(monkeypatch, JOBS_TABLE="t", BUCKET="b", MAX_VIDEO_BYTES="lots")


def test_unverified_keys_are_trusted_only_when_sam_local_and_the_flag_say_so(monkeypatch):
    required = {"JOBS_TABLE": "t", "BUCKET": "b"}
    for sam_local, flag, trusted in (
        ("true", "true", True),
        ("true", "", False),
        ("", "true", False),
        ("false", "true", False),
    ):
        settings = _settings_from(
            monkeypatch, **required, AWS_SAM_LOCAL=sam_local, VS_LOCAL_KEY_FALLBACK=flag
        )
        assert settings.local_key_fallback is trusted


def test_pagination_tokens_round_trip_only_for_their_owner():
    signer = TokenSigner("s" * 32)
    last_key = {"job_id": "a" * 32, "owner": "alice", "created_at": "2026-01-01T00:00:00.000000Z"}
    token = signer.encode(last_key)
    assert "=" not in token
    assert signer.decode(token, "alice") == last_key
    with pytest.raises(InvalidToken, match="next_token is not one this API returned"):
        signer.decode(token, "bob")
    with pytest.raises(InvalidToken):
        TokenSigner("t" * 32).decode(token, "alice")
    extra = signer.encode({**last_key, "status": "QUEUED"})
    not_json, a_list = (base64.urlsafe_b64encode(raw).decode("ascii") for raw in (b"{no", b"[1]"))
    signed = [f"{p}.{signer._signature(p)}" for p in (not_json, a_list)]
    for bad in (extra, *signed, "%%%", "", ".", signer.encode({"job_id": 1})):
        with pytest.raises(InvalidToken):
            signer.decode(bad, "alice")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        TokenSigner("short")


def _job(status: JobStatus, **fields) -> Job:
    return Job(
        job_id="j",
        owner="alice",
        status=status,
        created_at="2026-01-01T00:00:00.000000Z",
        updated_at="2026-01-01T00:01:00.000000Z",
        object_key="uploads/j/clip.mp4",
        filename="clip.mp4",
        **fields,
    )


def test_job_views_carry_only_the_parts_that_apply(monkeypatch):
    settings = _settings_from(monkeypatch, JOBS_TABLE="t", BUCKET="b", UPLOAD_URL_EXPIRES_S="60")
    s3 = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="s"
    )
    queued = JobView.summary(_job(JobStatus.QUEUED)).body()
    assert queued == {
        "job_id": "j",
        "status": "QUEUED",
        "key": "uploads/j/clip.mp4",
        "filename": "clip.mp4",
        "content_type": None,
        "size_bytes": None,
        "created_at": "2026-01-01T00:00:00.000000Z",
        "updated_at": "2026-01-01T00:01:00.000000Z",
    }
    failed = JobView.detail(_job(JobStatus.FAILED), s3, settings).body()
    video_url = failed.pop("video_url")
    assert failed == {**queued, "status": "FAILED", "reason": None, "reason_code": None}
    # The video's link, for the web page's player, once there is a video.
    assert "/uploads/j/clip.mp4?" in video_url
    awaiting = JobView.detail(_job(JobStatus.AWAITING_UPLOAD), s3, settings).body()
    assert "video_url" not in awaiting
    document = make_result("j")
    inline = _job(JobStatus.COMPLETED, result_json=json.dumps(document))
    assert JobView.detail(inline, s3, settings).body()["result"] == document
    assert "result" not in JobView.summary(inline).body()
    linked = JobView.detail(_job(JobStatus.COMPLETED, result_key="results/j.out"), s3, settings)
    assert "/results/j.out?" in linked.body()["result_url"]
    assert linked.body()["result_url_expires_in"] == 60
    assert "result" not in linked.body()


def test_head_tells_a_missing_key_from_a_forbidden_one_by_listing_it(stack):
    stack.put_video("uploads/here.mp4")

    def forbidden(**_):
        # What S3 answers a role whose ListBucket is limited to a prefix, for a missing key.
        return SimpleNamespace(status_code=403, headers={}), {
            "Error": {"Code": "403", "Message": "Forbidden"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }

    stack.s3.meta.events.register("before-call.s3.HeadObject", forbidden)
    try:
        assert head(stack.s3, BUCKET, "uploads/gone.mp4") is None
        with pytest.raises(botocore.exceptions.ClientError):
            head(stack.s3, BUCKET, "uploads/here.mp4")
    finally:
        stack.s3.meta.events.unregister("before-call.s3.HeadObject", forbidden)
