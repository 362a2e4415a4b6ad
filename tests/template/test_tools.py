"""The AWS tools accept the template: cfn-lint (before and after the SAM transform), `sam validate
--lint` and `sam build`. cfn-lint and validate run with every proxy pointed at a closed port, so a
pass cannot come from a call to AWS."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vsent.local.cfn import load_template

Tool = Callable[..., subprocess.CompletedProcess[str]]


def _report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


def test_cfn_lint_is_clean_on_the_template_and_its_transformed_cloudformation(
    tool: Tool, sam_bin: Path, template_path: Path, cfn_files: dict[str, Path]
) -> None:
    files = [template_path, *cfn_files.values()]
    result = tool([str(sam_bin / "cfn-lint"), *map(str, files)])
    assert result.returncode == 0, _report(result)
    assert result.stdout.strip() == ""


def test_sam_validate_lint_is_clean(tool: Tool, sam_bin: Path, template_path: Path) -> None:
    result = tool([str(sam_bin / "sam"), "validate", "--lint", "--template", str(template_path)])
    assert result.returncode == 0, _report(result)
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_sam_build_packages_the_functions_and_the_layer(
    tool: Tool, sam_bin: Path, template_path: Path, tmp_path: Path
) -> None:
    build = tmp_path / "build"
    # Run outside the repository: cached builds keep their dependencies in ./.aws-sam/deps.
    # pip needs the package registry to fetch the layer's wheels.
    result = tool(
        [
            str(sam_bin / "sam"),
            "build",
            "--template",
            str(template_path),
            "--build-dir",
            str(build),
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        cwd=tmp_path,
        offline=False,
        timeout=300,
    )
    assert result.returncode == 0, _report(result)
    built: dict[str, Any] = load_template(build / "template.yaml")
    resources = built["Resources"]
    for function in ("SubmitFunction", "CompleteFunction", "ApiFunction"):
        assert resources[function]["Properties"]["CodeUri"] == function
        assert (build / function / "app.py").is_file()
    assert resources["CommonLayer"]["Properties"]["ContentUri"] == "CommonLayer"
    layer = build / "CommonLayer" / "python"
    assert (layer / "vs_common" / "__init__.py").is_file()
    assert (layer / "vs_common" / "schemas" / "result.schema.json").is_file()
    assert (layer / "aws_lambda_powertools").is_dir()
    assert (layer / "pydantic_settings").is_dir()
    # The site publisher ships the web page as plain files: the build follows its `static` link.
    page = build / "SitePublisherFunction" / "static"
    assert (page / "index.html").is_file() and not (page / "index.html").is_symlink()
    assert (page / "js" / "views" / "job.js").is_file()
