"""``vsent stack costs|stop-endpoint``: what the deployed stack runs and costs."""

from __future__ import annotations

from typing import Annotated

import typer

from vsent.errors import fail, reported
from vsent.ops import settings as s
from vsent.ops.aws import OpsError
from vsent.ops.commands.common import StackTarget, print_json, switch_model

app = typer.Typer(
    name="stack",
    help="What the deployed stack runs and costs; stop paying for it.",
    no_args_is_help=True,
)


@app.command("costs")
def costs(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    region: s.Region = s.DEFAULT_REGION,
    stack: s.StackName = s.DEFAULT_STACK,
) -> None:
    """What runs now (endpoint instances, scaling, jobs) and an hourly cost estimate."""
    from vsent.ops import costs, deploy

    target = StackTarget(region, stack)
    sm = target.client("sagemaker")
    autoscaling = target.client("application-autoscaling")
    try:
        names = deploy.stack_endpoints(target.client("cloudformation"), sm, stack)
    except sm.exceptions.ClientError as error:
        raise fail(f"cannot read stack {stack}: {error}") from error
    states = [deploy.endpoint_state(sm, autoscaling, n) for n in names]
    data = costs.report(
        [costs.endpoint_cost(st) for st in states if st is not None], costs.running_jobs(sm), stack
    )
    if as_json:
        print_json(data)
        return
    for line in [*costs.lines(data), *costs.stop_paying_advice(stack)]:
        typer.echo(line)


@app.command("stop-endpoint")
def stop_endpoint(
    build: s.SamBuild = None,
    region: s.Region = s.DEFAULT_REGION,
    stack: s.StackName = s.DEFAULT_STACK,
    dry_run: s.DryRun = False,
) -> None:
    """Delete the endpoint and its model but keep the bucket, jobs and tables (ModelDataUrl="")."""
    with reported(OpsError):
        switch_model("", StackTarget(region, stack, dry_run), build)
    if not dry_run:
        typer.echo(f"stack {stack} has no endpoint now; `vsent model deploy` brings one back")
