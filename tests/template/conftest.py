"""Fixtures of the template tier: the SAM template as written, and as CloudFormation after the
SAM transform (with and without a model), made once per session by scripts/transform_template.py
under .venv-sam, where samtranslator lives."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vsent.local.cfn import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAM_BIN = ROOT / ".venv-sam" / "bin"
MODEL_URL = "s3://example-models/video-sentiment/model.tar.gz"


def sam_env(offline: bool = False) -> dict[str, str]:
    """Environment for the SAM tools: a region, throwaway credentials, no telemetry, and SAM's venv
    first on PATH (its python3.11 has pip, which `sam build` needs). `offline` points every proxy
    at a closed port, so a tool that tried to reach AWS would fail instead of passing quietly."""
    env = dict(os.environ)
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        SAM_CLI_TELEMETRY="0",
        PATH=f"{SAM_BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "NO_PROXY", "no_proxy"):
        env.pop(name, None)
    if offline:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
            env[name] = "http://127.0.0.1:9"
    return env


def run_tool(
    args: list[str], cwd: Path = ROOT, offline: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a command with `sam_env`, capturing its output."""
    return subprocess.run(
        args,
        cwd=cwd,
        env=sam_env(offline),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _transform(output: Path, *parameters: str) -> dict[str, Any]:
    overrides = [arg for p in parameters for arg in ("-p", p)]
    result = run_tool(
        [
            str(SAM_BIN / "python"),
            "scripts/transform_template.py",
            str(TEMPLATE),
            "-o",
            str(output),
            *overrides,
        ]
    )
    assert result.returncode == 0, f"SAM transform failed:\n{result.stdout}\n{result.stderr}"
    return json.loads(output.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    """template.yaml as written (SAM resources, Globals, intrinsics in long form)."""
    return load_template(TEMPLATE)


@pytest.fixture(scope="session")
def cfn_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The transformed templates as JSON files: "model" (ModelDataUrl set) and "bare" (default)."""
    folder = tmp_path_factory.mktemp("transformed")
    files = {"model": folder / "with-model.json", "bare": folder / "without-model.json"}
    _transform(files["model"], f"ModelDataUrl={MODEL_URL}")
    _transform(files["bare"])
    return files


@pytest.fixture(scope="session")
def cfn_template(cfn_files: dict[str, Path]) -> dict[str, Any]:
    """The CloudFormation the SAM transform makes of template.yaml when a model URL is given."""
    return json.loads(cfn_files["model"].read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def cfn_template_bare(cfn_files: dict[str, Path]) -> dict[str, Any]:
    """The CloudFormation of template.yaml with default parameters (no model yet)."""
    return json.loads(cfn_files["bare"].read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def tool() -> Callable[..., subprocess.CompletedProcess[str]]:
    """`run_tool`: run a SAM CLI / cfn-lint command (offline unless told otherwise)."""
    return run_tool


@pytest.fixture(scope="session")
def sam_bin() -> Path:
    """The bin folder of .venv-sam (sam, cfn-lint, and a python with samtranslator)."""
    return SAM_BIN


@pytest.fixture(scope="session")
def template_path() -> Path:
    """template.yaml at the repository root."""
    return TEMPLATE
