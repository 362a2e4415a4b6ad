"""`vsent submit | status | wait | result | plot | find`: the client of a deployed or local API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from tqdm import tqdm

from vsent.client.api import ApiClient, ApiError, upload_presigned_post, video_content_type
from vsent.client.options import ApiKey, ApiUrl, Connection, Operator, Region, StackName
from vsent.client.plot import plot_timeline
from vsent.client.render import result_table, status_text
from vsent.client.settings import ClientSettings, SettingsError
from vsent.errors import JOB_FAILED, JOB_UNFINISHED, fail, reported

console = Console()
app = typer.Typer()

AsJson = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
JobId = Annotated[str, typer.Argument(help="job id (from `vsent submit`)")]


def client_of(connection: Connection, operator: bool = False) -> tuple[ApiClient, ClientSettings]:
    """The API client for these options (SigV4 with `operator`); exits with the reason if none."""
    with reported(SettingsError):
        settings = connection.settings()
        return settings.client(operator), settings


def _job(
    connection: Connection, job_id: str, operator: bool = False
) -> tuple[ApiClient, dict[str, Any]]:
    client, _ = client_of(connection, operator)
    with reported(ApiError):
        return client, client.get_job(job_id)


def upload_transcript(created: dict[str, Any], transcript: Path) -> str:
    """Send the sidecar with the presigned POST of POST /uploads; returns its key.

    It goes before the video: submit looks for the sidecar when the video arrives.
    """
    upload = created["transcript_upload"]
    upload_presigned_post(upload, transcript)
    return upload["key"]


def submit_video(
    client: ApiClient, video: Path, transcript: Path | None = None, progress: bool = True
) -> dict[str, Any]:
    """POST /uploads, the optional sidecar, then the video with a progress bar; the new job."""
    size = video.stat().st_size
    created = client.create_upload(
        video.name,
        video_content_type(video),
        size,
        transcript.name if transcript is not None else None,
    )
    if transcript is not None:
        upload_transcript(created, transcript)
    with tqdm(
        total=size, unit="B", unit_scale=True, desc=f"uploading {video.name}", disable=not progress
    ) as bar:
        upload_presigned_post(created["upload"], video, bar.update)
    return created


def print_change(job: dict[str, Any]) -> None:
    """Print a job's new state (the `on_change` of `ApiClient.wait`)."""
    console.print(status_text(job))


def _show_outcome(client: ApiClient, job: dict[str, Any], as_json: bool) -> None:
    show_result(client, job, as_json)
    if job["status"] == "FAILED":
        raise typer.Exit(JOB_FAILED)


def show_result(client: ApiClient, job: dict[str, Any], as_json: bool) -> dict[str, Any] | None:
    """Print a job's result as a table (or JSON); returns the result document."""
    result = client.result(job)
    if as_json:
        console.print_json(json.dumps(result if result is not None else job))
    elif result is None:
        console.print(status_text(job))
    else:
        console.print(result_table(result))
    return result


@app.command()
def submit(
    video: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    transcript: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="sidecar transcript (.srt/.vtt/.json)"),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="wait for the result")] = False,
    as_json: AsJson = False,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
    stack_name: StackName = None,
    region: Region = None,
) -> None:
    """Upload a video (presigned POST) and print its job id."""
    client, settings = client_of(Connection(api_url, api_key, stack_name, region))
    with reported(ApiError):
        created = submit_video(client, video, transcript)
    console.print(f"job [bold]{created['job_id']}[/] ({settings.source})")
    if wait:
        job = client.wait(created["job_id"], on_change=print_change)
        _show_outcome(client, job, as_json)


@app.command()
def status(
    job_id: JobId,
    as_json: AsJson = False,
    operator: Operator = False,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
    stack_name: StackName = None,
    region: Region = None,
) -> None:
    """Print a job's state (and its failure reason)."""
    _, job = _job(Connection(api_url, api_key, stack_name, region), job_id, operator)
    if as_json:
        console.print_json(json.dumps({k: v for k, v in job.items() if k != "result"}))
    else:
        console.print(status_text(job))


@app.command("wait")
def wait_command(
    job_id: JobId,
    timeout: Annotated[float, typer.Option(help="seconds before giving up")] = 1800,
    as_json: AsJson = False,
    operator: Operator = False,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
    stack_name: StackName = None,
    region: Region = None,
) -> None:
    """Poll a job with backoff, printing each change of state, then its result."""
    client, _ = client_of(Connection(api_url, api_key, stack_name, region), operator)
    with reported(ApiError, TimeoutError):
        job = client.wait(job_id, on_change=print_change, timeout_s=timeout)
    _show_outcome(client, job, as_json)


@app.command()
def result(
    job_id: JobId,
    as_json: AsJson = False,
    operator: Operator = False,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
    stack_name: StackName = None,
    region: Region = None,
) -> None:
    """Print a finished job's utterances as a table (or the result document as JSON)."""
    client, job = _job(Connection(api_url, api_key, stack_name, region), job_id, operator)
    if job["status"] != "COMPLETED":
        console.print(status_text(job))
        raise typer.Exit(JOB_FAILED if job["status"] == "FAILED" else JOB_UNFINISHED)
    show_result(client, job, as_json)


@app.command()
def plot(
    job_id: JobId,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="PNG to write")] = None,
    operator: Operator = False,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
    stack_name: StackName = None,
    region: Region = None,
) -> None:
    """Write a timeline PNG of emotion and sentiment per utterance."""
    client, job = _job(Connection(api_url, api_key, stack_name, region), job_id, operator)
    document = client.result(job)
    if document is None:
        raise fail(f"job {job_id} is {job['status']}; there is no result to plot")
    path = plot_timeline(document, out or Path(f"{job_id}.png"))
    console.print(f"wrote {path}")


@app.command()
def find(
    key: Annotated[str, typer.Argument(help="object key, e.g. uploads/talk.mp4")],
    as_json: AsJson = False,
    operator: Operator = False,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
    stack_name: StackName = None,
    region: Region = None,
) -> None:
    """Print the job(s) of an uploaded object (one put straight into the bucket: --operator)."""
    client, _ = client_of(Connection(api_url, api_key, stack_name, region), operator)
    with reported(ApiError):
        jobs = client.find_by_key(key)
    if as_json:
        console.print_json(
            json.dumps([{k: v for k, v in j.items() if k != "result"} for j in jobs])
        )
        return
    for job in jobs:
        console.print(f"{job['job_id']}  {status_text(job)}")
