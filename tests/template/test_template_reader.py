"""The local stack's reader of template.yaml agrees with SAM's own transform: each function's
settings and environment (Globals merged), its queue event sources, and every API route with
the authorizer and API key it requires."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from vsent.local.spec import StackSpec
from vsent.local.template_reader import build_spec

NO_VALUE = {"Ref": "AWS::NoValue"}


@pytest.fixture(scope="module")
def spec(template_path: Path) -> StackSpec:
    return build_spec(template_path)


def _resources(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in cfn["Resources"].items()
        if resource["Type"] == kind
    }


def test_functions_have_the_settings_sam_gives_them(
    spec: StackSpec, cfn_template: dict[str, Any]
) -> None:
    deployed = _resources(cfn_template, "AWS::Lambda::Function")
    assert {f.logical_id for f in spec.functions} == set(deployed)
    for function in spec.functions:
        sam = deployed[function.logical_id]
        assert (function.handler, function.timeout_s, function.memory_mb) == (
            sam["Handler"],
            sam["Timeout"],
            sam["MemorySize"],
        )
        variables = sam["Environment"]["Variables"]
        assert set(function.environment) == {k for k, v in variables.items() if v != NO_VALUE}
        literals = {k: str(v) for k, v in variables.items() if not isinstance(v, dict)}
        assert {k: function.environment[k] for k in literals} == literals


def test_queue_event_sources_are_sams(spec: StackSpec, cfn_template: dict[str, Any]) -> None:
    sam = {
        (
            mapping["FunctionName"]["Ref"],
            mapping["EventSourceArn"]["Fn::GetAtt"][0],
            mapping.get("BatchSize", 10),
            mapping.get("MaximumBatchingWindowInSeconds", 0),
            "ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", []),
        )
        for mapping in _resources(cfn_template, "AWS::Lambda::EventSourceMapping").values()
    }
    local = {
        (f.logical_id, e.queue, e.batch_size, e.batching_window_s, e.report_batch_item_failures)
        for f in spec.functions
        for e in f.sqs_events
    }
    assert local == sam


def test_routes_require_what_the_deployed_api_requires(
    spec: StackSpec, cfn_template: dict[str, Any]
) -> None:
    (api,) = _resources(cfn_template, "AWS::ApiGateway::RestApi").values()
    sam = set()
    for path, methods in api["Body"]["paths"].items():
        for method, operation in methods.items():
            integration = operation["x-amazon-apigateway-integration"]
            if integration["type"] == "mock":
                continue  # SAM's CORS preflight; the local gateway answers OPTIONS itself
            uri = json.dumps(integration["uri"])
            function = re.search(r"\$\{(\w+)\.Arn\}", uri)
            assert function, uri
            schemes = {
                name for requirement in operation.get("security", []) for name in requirement
            }
            authorizers = schemes - {"api_key"}
            assert len(authorizers) <= 1, (path, method, schemes)
            sam.add(
                (
                    function.group(1),
                    path,
                    method.upper(),
                    "api_key" in schemes,
                    next(iter(authorizers), None),
                )
            )
    local = {
        (f.logical_id, r.path, r.method, r.api_key_required, r.authorizer)
        for f in spec.functions
        for r in f.routes
    }
    assert local == sam
