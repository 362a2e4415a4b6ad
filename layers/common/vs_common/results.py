"""Result documents: read one from S3 within a size bound and check it against the schema."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from botocore.exceptions import ClientError
from jsonschema import Draft202012Validator

from vs_common.keys import InvalidKey, parse_s3_uri

SCHEMA_ID = "video-sentiment/result@1"


class InvalidResult(ValueError):
    """The endpoint's output cannot be used; the message says why, for a person to read."""


@dataclass(frozen=True)
class LoadedResult:
    """A result document that passed validation, with where it came from."""

    document: dict[str, Any]
    raw: bytes
    bucket: str
    key: str


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of the result document."""
    text = resources.files("vs_common").joinpath("schemas/result.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(schema())
    return Draft202012Validator(schema())


def validate(document: Any) -> None:
    """Raise InvalidResult naming the first problem (at its JSON path) if `document` is invalid."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise InvalidResult(
            f"the result document does not match {SCHEMA_ID}: at {where}: {first.message}{more}"
        )


def parse(raw: bytes, job_id: str) -> dict[str, Any]:
    """Decode and validate a result document that must belong to `job_id`."""
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidResult(f"the result document is not valid JSON: {exc}") from exc
    validate(document)
    if document["job_id"] != job_id:
        raise InvalidResult(
            f"the result document is for job {document['job_id']!r}, not for {job_id!r}"
        )
    return document


def read_bounded(s3: Any, bucket: str, key: str, max_bytes: int) -> bytes:
    """The bytes of an object, refusing one larger than `max_bytes` without reading it all."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            raise InvalidResult(f"the result object s3://{bucket}/{key} does not exist") from exc
        raise
    body = response["Body"]
    try:
        if response.get("ContentLength", 0) > max_bytes:
            raise InvalidResult(
                f"the result is {response['ContentLength']} bytes, over the limit of {max_bytes}"
            )
        data = body.read(max_bytes + 1)
    finally:
        body.close()
    if len(data) > max_bytes:
        raise InvalidResult(f"the result is over the limit of {max_bytes} bytes")
    return data


def load(s3: Any, uri: str, job_id: str, max_bytes: int) -> LoadedResult:
    """Read the result at `uri` and validate it for `job_id`."""
    try:
        bucket, key = parse_s3_uri(uri)
    except InvalidKey as exc:
        raise InvalidResult(str(exc)) from exc
    raw = read_bounded(s3, bucket, key, max_bytes)
    return LoadedResult(document=parse(raw, job_id), raw=raw, bucket=bucket, key=key)
