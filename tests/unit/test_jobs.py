"""The job state machine and the store's conditional writes."""

from __future__ import annotations

import itertools

import pytest
from support import JOBS_TABLE

from vs_common import aws
from vs_common.jobs import (
    TERMINAL,
    TRANSITIONS,
    InvalidTransition,
    Job,
    JobStatus,
    sources_of,
    utc_now,
)
from vs_common.store import JobStore

ORDER = list(JobStatus)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(JobStatus, JobStatus)))
def test_never_backwards_nor_sideways(current, target):
    allowed = target in TRANSITIONS[current]
    if ORDER.index(target) <= ORDER.index(current):
        assert not allowed
    if current in TERMINAL:
        assert not allowed


def test_the_documented_transitions():
    assert TRANSITIONS[JobStatus.AWAITING_UPLOAD] == {JobStatus.QUEUED, JobStatus.FAILED}
    assert TRANSITIONS[JobStatus.QUEUED] == {JobStatus.IN_PROGRESS, JobStatus.FAILED}
    assert TRANSITIONS[JobStatus.IN_PROGRESS] == {JobStatus.COMPLETED, JobStatus.FAILED}
    assert {JobStatus.COMPLETED, JobStatus.FAILED} == TERMINAL
    assert sources_of(JobStatus.FAILED) == {
        JobStatus.AWAITING_UPLOAD,
        JobStatus.QUEUED,
        JobStatus.IN_PROGRESS,
    }


def test_timestamps_sort_like_instants():
    first = utc_now()
    second = utc_now()
    assert len(first) == len(second) == len("2026-01-01T00:00:00.000000Z")
    assert first <= second


def _job(status: JobStatus, job_id: str = "a" * 32) -> Job:
    now = utc_now()
    return Job(
        job_id=job_id,
        owner="k",
        status=status,
        created_at=now,
        updated_at=now,
        object_key=f"uploads/{job_id}/clip.mp4",
        filename="clip.mp4",
    )


@pytest.fixture
def store(stack):
    return JobStore(aws.table(JOBS_TABLE), retention_days=1)


def test_store_walks_the_happy_path_and_refuses_to_go_back(store):
    store.create(_job(JobStatus.AWAITING_UPLOAD))
    with pytest.raises(InvalidTransition):
        store.create(_job(JobStatus.AWAITING_UPLOAD))
    store.upsert(_job(JobStatus.QUEUED), allowed_from=[JobStatus.AWAITING_UPLOAD])
    store.transition("a" * 32, JobStatus.IN_PROGRESS, {"inference_id": "a" * 32})
    done = store.transition("a" * 32, JobStatus.COMPLETED, {"result_json": "{}"})
    assert done.status is JobStatus.COMPLETED
    assert done.inference_id == "a" * 32

    for target in (JobStatus.QUEUED, JobStatus.IN_PROGRESS, JobStatus.FAILED):
        with pytest.raises(InvalidTransition) as caught:
            store.transition("a" * 32, target)
        assert caught.value.current is JobStatus.COMPLETED
    with pytest.raises(InvalidTransition):
        store.upsert(_job(JobStatus.QUEUED), allowed_from=[JobStatus.AWAITING_UPLOAD])
    assert store.get("a" * 32).status is JobStatus.COMPLETED


def test_transition_of_a_missing_job_is_refused(store):
    with pytest.raises(InvalidTransition) as caught:
        store.transition("b" * 32, JobStatus.IN_PROGRESS)
    assert caught.value.current is None


def test_upsert_keeps_owner_and_creation_time(store):
    original = _job(JobStatus.AWAITING_UPLOAD)
    store.create(original)
    later = _job(JobStatus.QUEUED).model_copy(update={"owner": "someone else"})

    queued = store.upsert(later, allowed_from=[JobStatus.AWAITING_UPLOAD])

    assert queued.owner == "k"
    assert queued.created_at == original.created_at
    assert queued.status is JobStatus.QUEUED
