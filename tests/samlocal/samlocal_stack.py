"""The stack's resources seeded in moto, and the events/ files adjusted to them.

The events/ files name one example bucket, job id, object version, result object and API key id.
The resources here use the same bucket and owner; each test swaps in a fresh job id (and the real
version id of the object it seeds), so that otherwise the files run as they are written.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from samlocal_harness import ROOT, MotoContainer, Sam

from vs_common.apikeys import KeyStore
from vs_common.jobs import Job, JobStatus, utc_now
from vs_common.results import schema
from vs_common.store import JobStore
from vsent.local.resources import create_resources
from vsent.local.spec import StackSpec
from vsent.local.template_reader import build_spec

# What the events/ files name.
EVENT_BUCKET = "video-sentiment-uploads-example"
EVENT_JOB_ID = "5d0c4e7a9b8f4a1c9e2d3b4a5c6d7e8f"
EVENT_VERSION_ID = "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd"
EVENT_RESULT_ID = "0b1f8a44-7e2c-4c1e-9d57-2f5a8e0c3b61"
EVENT_OWNER = "2f5b7c1e-8d4a-4e3b-9a6f-1c0d2e3f4a5b"
EVENT_FILENAME = "clip.mp4"
# The API key of the events/ files (authorizer_key.json), and its id.
EVENT_API_KEY = "EXAMPLEapiKeyValue0123456789abcdefEXAMPLE"
EVENT_KEY_ID = "k3y1d2x9q7"
EVENT_ID_TOKEN = "EXAMPLE.ID.TOKEN"
# The key `sam local start-api` requests carry; the seeded stack knows it as the same user's.
START_API_KEY = "samlocal-api-key-0123456789"

# The stack as the tier seeds it in moto: what template.yaml declares, in a stack named
# vs-samlocal whose bucket is the one the events/ files name.
SPEC = build_spec(
    ROOT / "template.yaml",
    stack_name="vs-samlocal",
    fixed_names={"UploadsBucket": EVENT_BUCKET},
)
RETENTION_DAYS = int(SPEC.functions_environment({})["RETENTION_DAYS"])
# An ISO base media file: a file-type box, then a media data box (what submit sniffs is the box
# type at bytes 4..8).
MP4_BYTES = (
    b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
    + (8 + 1024).to_bytes(4, "big")
    + b"mdat"
    + bytes(1024)
)


@dataclass(frozen=True)
class Stack:
    """The seeded resources (named as the functions' environment gives them)."""

    spec: StackSpec
    # Local names of resources whose ids moto chose (the user pool, its client) -> those ids.
    physical_ids: dict[str, str]

    @property
    def jobs_table(self) -> str:
        """The jobs table's name."""
        return self.spec.names["JobsTable"]

    @property
    def bucket(self) -> str:
        """The uploads bucket's name."""
        return self.spec.names["UploadsBucket"]

    def environment(self, aws_endpoint_url: str) -> dict[str, str]:
        """The template's function environment, pointed at this stack in moto; the pagination
        key itself stands in for the secret the stack generates on AWS."""
        return {
            **self.spec.functions_environment(self.physical_ids),
            "AWS_ENDPOINT_URL": aws_endpoint_url,
            "PAGINATION_SECRET": "samlocal-pagination-secret-0123456789abcdef",
        }


def seed(moto: MotoContainer) -> Stack:
    """Create what template.yaml declares (bucket, tables, queues, topics, user pool, usage plan)
    in moto, and the API keys the events/ files and `sam local start-api` requests carry."""
    created = create_resources(SPEC, moto.client)
    keys = KeyStore(moto.table(SPEC.names["KeysTable"]))
    keys.put(EVENT_API_KEY, EVENT_KEY_ID, EVENT_OWNER, "events")
    keys.put(START_API_KEY, "st4rt4p1k3", EVENT_OWNER, "start-api")
    return Stack(SPEC, created.physical_ids)


def new_job_id() -> str:
    """A job id of the shape POST /uploads makes."""
    return uuid.uuid4().hex


def load_event(repo: Path, name: str, replacements: dict[str, str]) -> dict[str, Any]:
    """events/<name>.json with each example value swapped for the test's own."""
    text = (repo / "events" / f"{name}.json").read_text(encoding="utf-8")
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"events/{name}.json does not contain {old!r}")
        text = text.replace(old, new)
    return json.loads(text)


def upload_key(job_id: str) -> str:
    """The key POST /uploads gives the events' video for `job_id`."""
    return f"uploads/{job_id}/{EVENT_FILENAME}"


def seed_job(store: JobStore, job_id: str, status: JobStatus, **fields: Any) -> Job:
    """Write a job row owned by the events' API key, as the functions would have left it."""
    now = utc_now()
    job = Job(
        job_id=job_id,
        owner=EVENT_OWNER,
        status=status,
        created_at=now,
        updated_at=now,
        object_key=upload_key(job_id),
        filename=EVENT_FILENAME,
        content_type="video/mp4",
        size_bytes=len(MP4_BYTES),
        expires_at=store.expiry(),
        **fields,
    )
    store.create(job)
    return job


def result_document(job_id: str) -> dict[str, Any]:
    """A result document for `job_id` that the result schema accepts: two utterances."""
    defs = schema()["$defs"]
    emotions: list[str] = defs["emotion"]["enum"]
    sentiments: list[str] = defs["sentiment"]["enum"]

    def scores(labels: list[str], top: str) -> dict[str, float]:
        rest = round(0.3 / (len(labels) - 1), 6)
        return {label: 0.7 if label == top else rest for label in labels}

    def utterance(start: float, text: str, emotion: str, sentiment: str) -> dict[str, Any]:
        return {
            "start_s": start,
            "end_s": start + 1.5,
            "text": text,
            "emotion": {"label": emotion, "confidence": 0.7, "scores": scores(emotions, emotion)},
            "sentiment": {
                "label": sentiment,
                "confidence": 0.7,
                "scores": scores(sentiments, sentiment),
            },
        }

    return {
        "schema": "video-sentiment/result@1",
        "job_id": job_id,
        "video": {"duration_s": 4.0, "fps": 25.0, "width": 320, "height": 240, "has_audio": True},
        "model": {"name": "video-sentiment", "version": "samlocal"},
        "segmentation": "transcript",
        "utterances": [
            utterance(0.0, "What a lovely surprise!", "joy", "positive"),
            utterance(2.0, "I never want to see that again.", "disgust", "negative"),
        ],
        "summary": {
            "emotion": {label: 0.5 if label in {"joy", "disgust"} else 0.0 for label in emotions},
            "sentiment": {label: 0.5 if label != "neutral" else 0.0 for label in sentiments},
        },
        "timings_ms": {"decode": 12.0, "segment": 1.0, "model": 30.0, "total": 43.0},
    }


@dataclass
class Tier:
    """What the tests use: moto, the SAM CLI, the seeded stack and its environment files."""

    moto: MotoContainer
    sam: Sam
    stack: Stack
    env_vars: Path

    def env_vars_with(self, function: str, **overrides: str) -> Path:
        """An --env-vars file that changes some variables of one function only."""
        document = json.loads(self.env_vars.read_text(encoding="utf-8"))
        document[function] = overrides
        return self.sam.write_json("env-vars", document)

    @cached_property
    def store(self) -> JobStore:
        """The jobs table, read and written the way the functions do."""
        return JobStore(self.moto.table(self.stack.jobs_table), retention_days=RETENTION_DAYS)

    @cached_property
    def s3(self) -> Any:
        """An S3 client against moto."""
        return self.moto.client("s3")
