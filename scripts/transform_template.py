"""Expand the SAM template into plain CloudFormation JSON, offline.

Runs under .venv-sam (it needs samtranslator): the result is what CloudFormation would deploy, so
cfn-lint and the template tests can check the roles, API methods and event source mappings that
SAM generates. Managed policy ARNs come from the map bundled with samtranslator, so no AWS
credentials or network are needed.

    .venv-sam/bin/python scripts/transform_template.py template.yaml -o packaged.json \
        -p ModelDataUrl=s3://bucket/model.tar.gz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import boto3
from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

DEFAULT_REGION = "us-east-1"
# What `sam package` puts in place of local code folders; only the URI's shape matters here.
PACKAGE_BUCKET = "sam-package-placeholder"
LOCAL_CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """Turn `Name=value` strings into a parameter map, refusing anything without `=`."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"parameter override {pair!r} is not of the form Name=value")
        overrides[name] = value
    return overrides


def package_code_locations(sam_template: dict[str, Any]) -> None:
    """Point local CodeUri/ContentUri folders at S3, as `sam package` does before a deploy."""
    for resource in sam_template.get("Resources", {}).values():
        prop = LOCAL_CODE_PROPERTIES.get(resource.get("Type", ""))
        properties = resource.get("Properties", {})
        location = properties.get(prop) if prop else None
        if isinstance(location, str) and not location.startswith("s3://"):
            properties[prop] = f"s3://{PACKAGE_BUCKET}/{location.strip('/')}.zip"


def transform(
    template_path: Path, parameters: dict[str, str], region: str = DEFAULT_REGION
) -> dict[str, Any]:
    """Return the CloudFormation template that the SAM transform makes of `template_path`."""
    sam_template = yaml_parse(template_path.read_text(encoding="utf-8"))
    package_code_locations(sam_template)
    session = boto3.session.Session(region_name=region)
    partition = session.get_partition_for_region(region)
    translator = Translator(
        get_bundled_managed_policy_map(partition), Parser(), boto_session=session
    )
    return translator.translate(sam_template, parameter_values=dict(parameters))


def main(argv: list[str] | None = None) -> int:
    """Command line: print (or write) the transformed template as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", type=Path, nargs="?", default=Path("template.yaml"))
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    parser.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="template parameter value (repeatable)",
    )
    parser.add_argument("--region", default=DEFAULT_REGION)
    args = parser.parse_args(argv)
    try:
        parameters = parse_overrides(args.parameter)
    except ValueError as exc:
        parser.error(str(exc))
    cloudformation = transform(args.template, parameters, args.region)
    text = json.dumps(cloudformation, indent=2, sort_keys=True) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
