"""The local stack's AWS state survives a restart of its moto server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.backends import get_backend
from moto.core.base_backend import BackendDict

from vsent.local.moto_state import SNAPSHOT_FILE, PersistentMotoServer, SavedStateError


@pytest.fixture
def fresh_moto() -> Iterator[None]:
    """No state left in this process's moto from other tests, before or after."""

    def forget() -> None:
        BackendDict.reset()
        get_backend("s3").bucket_accounts.clear()

    forget()
    yield
    forget()


def _client(server: PersistentMotoServer, service: str) -> Any:
    host, port = server.get_host_and_port()
    return boto3.client(
        service,
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_state_comes_back_after_a_stop(tmp_path: Path, fresh_moto: None) -> None:
    first = PersistentMotoServer(tmp_path)
    first.start()
    assert not first.restored
    s3 = _client(first, "s3")
    s3.create_bucket(Bucket="video-bucket")
    s3.put_bucket_versioning(Bucket="video-bucket", VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket="video-bucket", Key="uploads/a.mp4", Body=b"x" * 5000)
    sqs = _client(first, "sqs")
    queue = sqs.create_queue(QueueName="work")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="waiting")
    sqs.send_message(QueueUrl=queue, MessageBody="in flight")
    sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, VisibilityTimeout=600)
    key = _client(first, "apigateway").create_api_key(name="k", enabled=True)
    first.stop()
    assert (tmp_path / SNAPSHOT_FILE).stat().st_size > 5000
    BackendDict.reset()
    get_backend("s3").bucket_accounts.clear()

    second = PersistentMotoServer(tmp_path)
    second.start()
    try:
        assert second.restored
        s3 = _client(second, "s3")
        got = s3.get_object(Bucket="video-bucket", Key="uploads/a.mp4")
        assert got["Body"].read() == b"x" * 5000
        assert got["VersionId"] == version["VersionId"]
        # create_bucket again (as every start does) keeps the objects.
        s3.create_bucket(Bucket="video-bucket")
        assert s3.list_objects_v2(Bucket="video-bucket")["KeyCount"] == 1
        sqs = _client(second, "sqs")
        queue = sqs.get_queue_url(QueueName="work")["QueueUrl"]
        bodies = {
            m["Body"]
            for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        }
        # The message received before the stop is delivered again at once.
        assert bodies == {"waiting", "in flight"}
        keys = _client(second, "apigateway").get_api_keys(includeValues=True)["items"]
        assert [(k["id"], k["value"]) for k in keys] == [(key["id"], key["value"])]
    finally:
        second.stop()


def test_an_unreadable_snapshot_is_refused_with_its_path(tmp_path: Path, fresh_moto: None) -> None:
    (tmp_path / SNAPSHOT_FILE).write_bytes(b"not a snapshot")
    with pytest.raises(SavedStateError, match="move it away"):
        PersistentMotoServer(tmp_path).start()


def test_the_ledger_holds_what_is_still_to_process(tmp_path: Path) -> None:
    from vsent.local.async_endpoint import Invocation, Ledger

    def invocation(job: str) -> dict[str, object]:
        return {
            "inference_id": job,
            "input_location": f"s3://b/requests/{job}.json",
            "body_b64": None,
            "content_type": "application/json",
            "accept": None,
            "output_location": f"s3://b/results/{job}.out",
            "failure_location": f"s3://b/failures/{job}-error.out",
            "received_time": "2026-01-01T00:00:00.000Z",
            "timeout_s": 3600,
        }

    ledger = Ledger(tmp_path / "invocations.jsonl")
    for job in ("done", "waiting", "again"):
        ledger.append("invoked", inference_id=job, invocation=invocation(job))
    ledger.append("processed", inference_id="done", status=200)
    ledger.append("processed", inference_id="again", status=200)
    ledger.append("invoked", inference_id="again", invocation=invocation("again"))
    with (tmp_path / "invocations.jsonl").open("a") as handle:
        handle.write('{"event": "processed", "inference_id": "wait')  # torn by a crash

    pending = ledger.pending()

    assert [p.inference_id for p in pending] == ["waiting", "again"]
    expected = {k: v for k, v in invocation("waiting").items() if k != "body_b64"}
    assert pending[0] == Invocation(**expected, body=None)
    assert ledger.counts("invoked") == {"done": 1, "waiting": 1, "again": 2}
    assert ledger.counts("processed") == {"done": 1, "again": 1}
