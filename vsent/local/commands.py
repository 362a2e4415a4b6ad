"""`vsent up | down | demo | analyze`: the local stack, and the model in this process."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel

from vsent.client.api import ApiClient, ApiError
from vsent.client.commands import AsJson, print_change, show_result, submit_video
from vsent.client.plot import plot_timeline
from vsent.client.render import result_table
from vsent.client.settings import local_settings
from vsent.errors import fail, reported
from vsent.local.default_model import default_or_demo_model, model_modalities
from vsent.local.demo_model import DemoModelError
from vsent.local.process import StackProcess, StackStartError
from vsent.local.sample import make_sample
from vsent.local_info import PID_FILE, StackInfo, process_alive
from vsent.paths import default_state_dir

console = Console()
app = typer.Typer()

ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        exists=True,
        help="model.tar.gz or model folder (default: the shipped MELD-trained text model)",
    ),
]
StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir", help="pid file, logs, ledger (default: ~/.cache/video-sentiment/stack)"
    ),
]


def _model_or_default(model: Path | None, log: Path) -> Path:
    if model is not None:
        return model.resolve()
    try:
        with console.status("loading the default model"):
            return default_or_demo_model(log)
    except DemoModelError as exc:
        raise fail(str(exc)) from exc


def _banner(info: StackInfo, log: Path) -> Panel:
    model = f"{info.model}" + (
        "  [bold yellow](DEMO MODEL: synthetic data)[/]" if info.demo_model else ""
    )
    reads = model_modalities(Path(info.model))
    if reads:
        model += f"  (reads {' + '.join(reads)})"
    lines = [
        f"web page  [bold]{info.web_url}[/]  (sign up, or sign in as the user below)",
        f"API URL   [bold]{info.api_url}[/]",
        f"user      [bold]{info.user_email}[/]  password [bold]{info.user_password}[/]",
        f"API key   [bold]{info.api_key}[/]  (the user's; more: vsent keys create)",
        f"Cognito   pool {info.user_pool_id}  client {info.user_pool_client_id}",
        f"          endpoint {info.cognito_endpoint_url}  (moto; sign up freely, then confirm)",
        f"S3 & co.  {info.aws_endpoint_url}  (moto; bucket {info.bucket})",
        f"endpoint  {info.endpoint_name} → {info.model_server_url}",
        f"model     {model}",
        f"logs      {log}",
        "",
        "try:  vsent submit VIDEO --wait     (the client finds this stack by itself)",
        f'      curl -H "x-api-key: {info.api_key}" {info.api_url}/jobs',
        "stop: Ctrl-C here, or `vsent down`",
    ]
    return Panel("\n".join(lines), title="local stack", expand=False)


def _wait_for_exit(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not process_alive(pid):
            return True
        time.sleep(0.2)
    return False


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (from `vsent down`) stops `up` the way Ctrl-C does."""
    raise KeyboardInterrupt


def run_demo(model: Path, out_dir: Path, sidecar: bool = False) -> dict[str, Any]:
    """Start a private local stack, analyse a generated speech video through it, stop it.

    Without the SRT sidecar (the default) the endpoint's Whisper finds and transcribes the
    utterances; with it, the sidecar gives them.
    """
    with console.status("writing a sample video with speech and its SRT sidecar"):
        video, srt = make_sample(out_dir, "demo")
    transcript = srt if sidecar else None
    with tempfile.TemporaryDirectory(prefix="vsent-demo-") as state:
        stack = StackProcess(model, Path(state))
        try:
            with console.status("starting the local stack (moto, functions, endpoint, API)"):
                info = stack.start()
            console.print(f"web page of this stack (while the demo runs): {info.web_url}")
            settings = local_settings(info)
            client = ApiClient(settings.api_url, settings.api_key)
            created = submit_video(client, video, transcript)
            console.print(f"job [bold]{created['job_id']}[/] submitted")
            job = client.wait(created["job_id"], on_change=print_change, timeout_s=600)
        except (StackStartError, ApiError, TimeoutError) as exc:
            raise fail(f"{exc} (stack log: {stack.log_path})") from exc
        finally:
            stack.stop()
            (out_dir / "stack.log").write_bytes(stack.log_path.read_bytes())
    document = show_result(client, job, as_json=False)
    if job["status"] != "COMPLETED" or document is None:
        raise fail(f"the demo job ended {job['status']}: {job.get('reason')}")
    picture = plot_timeline(document, out_dir / "demo-timeline.png")
    console.print(f"timeline: {picture}\nlog of the stack: {out_dir / 'stack.log'}")
    console.print(
        "to browse videos in the web page: [bold]vsent up[/], then open the web page it prints"
    )
    return document


@app.command()
def up(
    model: ModelOption = None,
    port: Annotated[int, typer.Option(help="API port (0: any free one)")] = 0,
    web_port: Annotated[int, typer.Option(help="web page port (0: any free one)")] = 0,
    state_dir: StateDir = None,
) -> None:
    """Run the local stack until Ctrl-C; prints the web page's URL, the API URL and a key."""
    state = state_dir or default_state_dir()
    running = StackInfo.read(state)
    if running is not None:
        raise fail(f"a local stack is already running at {running.api_url}; `vsent down`")
    state.mkdir(parents=True, exist_ok=True)
    stack = StackProcess(
        _model_or_default(model, state / "demo-training.log"), state, port, web_port=web_port
    )
    pid_file = state / PID_FILE
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with console.status("starting the local stack (moto, functions, endpoint, API)"):
            info = stack.start()
        pid_file.write_text(str(os.getpid()), encoding="utf-8")
        console.print(_banner(info, stack.log_path))
        stack.wait()
        raise fail(f"the local stack stopped by itself; see {stack.log_path}")
    except StackStartError as exc:
        raise fail(str(exc)) from exc
    except KeyboardInterrupt:
        console.print("stopping the local stack…")
    finally:
        stack.stop()
        pid_file.unlink(missing_ok=True)


@app.command()
def down(state_dir: StateDir = None) -> None:
    """Stop the local stack that `vsent up` started."""
    state = state_dir or default_state_dir()
    pid_file = state / PID_FILE
    pids = []
    if pid_file.is_file():
        pids.append(int(pid_file.read_text(encoding="utf-8").strip()))
    child = StackInfo.read(state)
    if child is not None:
        pids.append(child.pid)
    alive = [pid for pid in pids if process_alive(pid)]
    if not alive:
        pid_file.unlink(missing_ok=True)
        console.print("no local stack is running")
        return
    for pid in alive:
        os.kill(pid, signal.SIGTERM)
    for pid in alive:
        if not _wait_for_exit(pid, 90):
            raise fail(f"process {pid} did not stop within 90 s")
    pid_file.unlink(missing_ok=True)
    console.print("local stack stopped")


@app.command()
def demo(
    model: ModelOption = None,
    out: Annotated[Path, typer.Option(help="folder for the video, table and picture")] = Path(
        "demo-output"
    ),
    sidecar: Annotated[
        bool,
        typer.Option(help="upload the SRT sidecar too (default: Whisper transcribes)"),
    ] = False,
) -> None:
    """The whole flow on a private local stack with a generated video, then stop."""
    out.mkdir(parents=True, exist_ok=True)
    run_demo(_model_or_default(model, out / "demo-training.log"), out.resolve(), sidecar)


@app.command()
def analyze(
    video: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    model: Annotated[
        Path | None,
        typer.Option(help="model folder or model.tar.gz (default: the shipped MELD text model)"),
    ] = None,
    transcript: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="transcript (default: a sidecar)"),
    ] = None,
    out: Annotated[Path | None, typer.Option("--plot", help="also write a timeline PNG")] = None,
    as_json: AsJson = False,
) -> None:
    """Run the model on a video in this process: no stack, no upload."""
    from vs_model.checkpoint import model_folder
    from vs_model.predictor import InvalidInput, Predictor
    from vs_model.transcripts import TranscriptError, find_sidecar, load_transcript

    with tempfile.TemporaryDirectory(prefix="vsent-analyze-") as scratch:
        if model is None:
            with reported(DemoModelError), console.status("loading the default model"):
                folder = default_or_demo_model()
        else:
            with reported(ValueError):
                folder = model_folder(model, Path(scratch))
        sidecar = transcript or find_sidecar(video)
        with reported(InvalidInput, TranscriptError):
            cues = load_transcript(sidecar) if sidecar else None
            with console.status(f"analysing {video.name}"):
                document = Predictor(folder).predict(video, cues).to_dict()
    if as_json:
        console.print_json(json.dumps(document))
    else:
        console.print(result_table(document))
    if out:
        console.print(f"wrote {plot_timeline(document, out)}")
