"""What the stack runs now and an hourly cost estimate from a small, dated price table."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from vsent.ops.deploy import EndpointState

# An estimate, not a bill: SageMaker on-demand list prices in us-east-1 (USD per instance-hour)
# for the instance types this project uses, as published on aws.amazon.com/sagemaker/pricing.
PRICES_AS_OF = "2024-06"
PRICES_REGION = "us-east-1"
PRICES_URL = "https://aws.amazon.com/sagemaker/pricing/"
HOURLY_USD: dict[str, float] = {
    "ml.g4dn.xlarge": 0.7364,
    "ml.g4dn.2xlarge": 0.94,
    "ml.g4dn.4xlarge": 1.505,
    "ml.g4dn.8xlarge": 2.72,
    "ml.g4dn.12xlarge": 4.89,
    "ml.g5.xlarge": 1.408,
    "ml.g5.2xlarge": 1.515,
    "ml.g5.4xlarge": 2.03,
    "ml.g5.8xlarge": 3.06,
    "ml.g5.12xlarge": 7.09,
    "ml.c5.xlarge": 0.204,
    "ml.c5.4xlarge": 0.816,
    "ml.m5.xlarge": 0.23,
}


def hourly_price(instance_type: str | None) -> float | None:
    """The table's price of one instance-hour, or None for a type it does not list."""
    return HOURLY_USD.get(instance_type or "")


@dataclass(frozen=True)
class EndpointCost:
    """One endpoint, its scaling state and what it costs per hour right now."""

    endpoint: str
    status: str
    instance_type: str | None
    current_instances: int | None
    min_capacity: int | None
    max_capacity: int | None
    usd_per_instance_hour: float | None
    usd_per_hour_now: float | None
    usd_per_hour_at_max: float | None


def endpoint_cost(state: EndpointState) -> EndpointCost:
    """The cost estimate of an endpoint in ``state``."""
    price = hourly_price(state.instance_type)
    now = price * (state.current_instances or 0) if price is not None else None
    at_max = (
        price * state.max_capacity if price is not None and state.max_capacity is not None else None
    )
    return EndpointCost(
        endpoint=state.name,
        status=state.status,
        instance_type=state.instance_type,
        current_instances=state.current_instances,
        min_capacity=state.min_capacity,
        max_capacity=state.max_capacity,
        usd_per_instance_hour=price,
        usd_per_hour_now=now,
        usd_per_hour_at_max=at_max,
    )


def stop_paying_advice(stack: str) -> list[str]:
    """How to stop paying for the endpoint, cheapest first."""
    return [
        "How to stop paying:",
        "  - Idle endpoints scale to zero instances by themselves (autoscaling minimum 0); a "
        "scaled-to-zero endpoint costs nothing per hour.",
        f"  - Delete the endpoint but keep the data, jobs and model: vsent stack stop-endpoint "
        f"--stack-name {stack}",
        "  - Bring it back later: vsent model deploy s3://…/model.tar.gz",
        f"  - Remove everything (data included): sam delete --stack-name {stack}",
    ]


def report(costs: list[EndpointCost], jobs: list[dict[str, Any]], stack: str) -> dict[str, Any]:
    """The JSON form of the costs report."""
    return {
        "stack": stack,
        "endpoints": [asdict(c) for c in costs],
        "running_jobs": jobs,
        "usd_per_hour_now": round(
            sum(c.usd_per_hour_now or 0 for c in costs)
            + sum(j.get("usd_per_hour") or 0 for j in jobs),
            4,
        ),
        "estimate": (
            f"on-demand list prices, {PRICES_REGION}, as of {PRICES_AS_OF} ({PRICES_URL}); "
            "other regions and spot prices differ"
        ),
    }


def running_jobs(sm: Any) -> list[dict[str, Any]]:
    """Training and processing jobs in progress, with their instances and hourly estimate."""
    jobs: list[dict[str, Any]] = []
    for summary in sm.list_training_jobs(StatusEquals="InProgress")["TrainingJobSummaries"]:
        job = sm.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        resources = job["ResourceConfig"]
        jobs.append(_job_row("training", job["TrainingJobName"], resources))
    for summary in sm.list_processing_jobs(StatusEquals="InProgress")["ProcessingJobSummaries"]:
        job = sm.describe_processing_job(ProcessingJobName=summary["ProcessingJobName"])
        resources = job["ProcessingResources"]["ClusterConfig"]
        jobs.append(_job_row("processing", job["ProcessingJobName"], resources))
    return jobs


def _job_row(kind: str, name: str, resources: dict[str, Any]) -> dict[str, Any]:
    price = hourly_price(resources["InstanceType"])
    count = resources["InstanceCount"]
    return {
        "kind": kind,
        "name": name,
        "instance_type": resources["InstanceType"],
        "instances": count,
        "usd_per_hour": price * count if price is not None else None,
    }


def lines(data: dict[str, Any]) -> list[str]:
    """The human-readable costs report."""
    out = [f"stack {data['stack']}"]
    if not data["endpoints"]:
        out.append("  no endpoint (the stack has no model deployed): nothing runs per hour")
    for c in data["endpoints"]:
        price = _usd(c["usd_per_instance_hour"])
        out.append(
            f"  endpoint {c['endpoint']} [{c['status']}] {c['instance_type']}: "
            f"{c['current_instances']} running (scaling {c['min_capacity']}..{c['max_capacity']}), "
            f"{price}/instance-hour → now {_usd(c['usd_per_hour_now'])}/h, "
            f"at max {_usd(c['usd_per_hour_at_max'])}/h"
        )
    for j in data["running_jobs"]:
        out.append(
            f"  {j['kind']} job {j['name']}: {j['instances']} × {j['instance_type']} "
            f"→ {_usd(j['usd_per_hour'])}/h (spot training costs less)"
        )
    out.append(f"  total now: {_usd(data['usd_per_hour_now'])}/h — ESTIMATE: {data['estimate']}")
    return out


def _usd(value: float | None) -> str:
    return "price unknown" if value is None else f"${value:.2f}"
