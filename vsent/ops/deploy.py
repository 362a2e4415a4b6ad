"""Switch the deployed stack to a model (or to none) with ``sam deploy``, and watch its endpoint."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vsent.ops.aws import OpsError
from vsent.paths import REPO_ROOT

BUILT_TEMPLATE = Path(".aws-sam") / "build" / "template.yaml"
ENDPOINT_RESOURCE = "AWS::SageMaker::Endpoint"
VARIANT = "AllTraffic"


def sam_executable() -> str:
    """The SAM CLI: the project's .venv-sam first, then PATH."""
    local = REPO_ROOT / ".venv-sam" / "bin" / "sam"
    if local.is_file():
        return str(local)
    found = shutil.which("sam")
    if not found:
        raise OpsError("no SAM CLI: run `make setup` (creates .venv-sam) or install aws-sam-cli")
    return found


def sam_commands(
    sam: str, stack: str, region: str, model_url: str, *, build: bool
) -> list[list[str]]:
    """``sam build`` (when asked) and the ``sam deploy`` that sets ModelDataUrl.

    Only ModelDataUrl is overridden: SAM sends every other parameter with UsePreviousValue, so
    the stack keeps its settings. An empty URL removes the endpoint resources (their condition).
    """
    commands = [[sam, "build"]] if build else []
    commands.append(
        [
            sam,
            "deploy",
            "--stack-name",
            stack,
            "--region",
            region,
            "--parameter-overrides",
            f'ModelDataUrl="{model_url}"',
            "--no-confirm-changeset",
            "--no-fail-on-empty-changeset",
        ]
    )
    return commands


def needs_build(root: Path = REPO_ROOT) -> bool:
    """Whether ``sam build`` has not run yet (``sam deploy`` would ship sources without deps)."""
    return not (root / BUILT_TEMPLATE).is_file()


def run_commands(commands: list[list[str]], cwd: Path = REPO_ROOT) -> None:
    """Run each command in the repository, streaming its output; stops at the first failure."""
    for command in commands:
        result = subprocess.run(command, cwd=cwd, check=False)
        if result.returncode != 0:
            raise OpsError(f"`{' '.join(command)}` failed with exit code {result.returncode}")


def stack_endpoints(cfn: Any, sm: Any, stack: str) -> list[str]:
    """Names of the SageMaker endpoints the stack holds (none while it has no model)."""
    names: list[str] = []
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceType"] != ENDPOINT_RESOURCE:
                continue
            if resource.get("ResourceStatus", "").startswith("DELETE"):
                continue
            names.append(_endpoint_name(sm, resource["PhysicalResourceId"]))
    return names


def _endpoint_name(sm: Any, physical_id: str) -> str:
    # CloudFormation's physical id of an endpoint is its ARN, whose name part is lower-cased.
    if not physical_id.startswith("arn:"):
        return physical_id
    arn = physical_id
    for page in sm.get_paginator("list_endpoints").paginate():
        for endpoint in page["Endpoints"]:
            if endpoint["EndpointArn"] == arn:
                return endpoint["EndpointName"]
    return arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class EndpointState:
    """What an endpoint is doing now."""

    name: str
    status: str
    instance_type: str | None
    current_instances: int | None
    desired_instances: int | None
    min_capacity: int | None
    max_capacity: int | None
    failure_reason: str | None = None

    def describe(self) -> str:
        """One line for the operator."""
        parts = [f"endpoint {self.name}: {self.status}"]
        if self.current_instances is not None:
            parts.append(f"{self.current_instances} × {self.instance_type} running")
        if self.min_capacity is not None:
            parts.append(f"autoscaling {self.min_capacity}..{self.max_capacity}")
        if self.scaled_to_zero:
            parts.append("scaled to zero: the first request wakes it")
        if self.failure_reason:
            parts.append(self.failure_reason)
        return "; ".join(parts)

    @property
    def scaled_to_zero(self) -> bool:
        """In service with no instance running (scale-to-zero idle state)."""
        return self.status == "InService" and self.current_instances == 0


def endpoint_state(sm: Any, autoscaling: Any, name: str) -> EndpointState | None:
    """The endpoint's status, instances and scaling bounds; None when it does not exist."""
    try:
        endpoint = sm.describe_endpoint(EndpointName=name)
    except sm.exceptions.ClientError as error:
        if "Could not find endpoint" in str(error):
            return None
        raise
    variants = endpoint.get("ProductionVariants", [])
    variant = variants[0] if variants else {}
    instance_type = None
    config_name = endpoint.get("EndpointConfigName")
    if config_name:
        config = sm.describe_endpoint_config(EndpointConfigName=config_name)
        instance_type = config["ProductionVariants"][0].get("InstanceType")
    variant_name = variant.get("VariantName", VARIANT)
    targets = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker",
        ResourceIds=[f"endpoint/{name}/variant/{variant_name}"],
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
    )["ScalableTargets"]
    target = targets[0] if targets else {}
    return EndpointState(
        name=name,
        status=endpoint["EndpointStatus"],
        instance_type=instance_type,
        current_instances=variant.get("CurrentInstanceCount"),
        desired_instances=variant.get("DesiredInstanceCount"),
        min_capacity=target.get("MinCapacity"),
        max_capacity=target.get("MaxCapacity"),
        failure_reason=endpoint.get("FailureReason"),
    )


def wait_for_endpoint(
    sm: Any,
    autoscaling: Any,
    name: str,
    echo: Callable[[str], None],
    *,
    poll_s: float = 30.0,
    sleep: Callable[[float], None] | None = None,
) -> EndpointState:
    """Print the endpoint's state until it is InService (running or scaled to zero) or Failed."""
    last = ""
    while True:
        state = endpoint_state(sm, autoscaling, name)
        if state is None:
            raise OpsError(f"endpoint {name} does not exist")
        line = state.describe()
        if line != last:
            echo(line)
            last = line
        if state.status == "InService":
            return state
        if state.status in {"Failed", "OutOfService"}:
            raise OpsError(line)
        (sleep or time.sleep)(poll_s)
