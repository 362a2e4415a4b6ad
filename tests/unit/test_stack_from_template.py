"""The unit tier's account is built from template.yaml: a change there changes the tests' stack."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from support import TEMPLATE, create_stack, stack_spec

from vs_common import aws
from vs_common.store import JobStore


def _find_by_key(template: Path) -> list[object]:
    spec = stack_spec(template)
    with mock_aws():
        aws.reset()
        try:
            create_stack(spec)
            store = JobStore(aws.table(spec.names["JobsTable"]), retention_days=1)
            return store.find_by_key("uploads/a/clip.mp4")
        finally:
            aws.reset()


def test_a_renamed_index_in_the_template_breaks_the_fixture(tmp_path: Path, env: object) -> None:
    assert _find_by_key(TEMPLATE) == []
    text = TEMPLATE.read_text(encoding="utf-8")
    assert text.count("IndexName: object-key-index") == 1
    renamed = tmp_path / "template.yaml"
    renamed.write_text(text.replace("IndexName: object-key-index", "IndexName: by-key"), "utf-8")

    with pytest.raises(ClientError, match="index"):
        _find_by_key(renamed)


def test_the_functions_environment_is_the_templates(pool: object) -> None:
    spec = stack_spec()
    assert os.environ["JOBS_TABLE"] == spec.names["JobsTable"]
    assert os.environ["KEYS_TABLE"] == spec.names["KeysTable"]
    assert os.environ["UPLOAD_PREFIX"] == "uploads/"
    assert os.environ["MAX_VIDEO_BYTES"] == str(1024 * 1024)  # the tier's parameter
    assert os.environ["USER_POOL_ID"].startswith("us-east-1_")  # the pool moto created
