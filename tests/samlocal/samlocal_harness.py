"""The container tier's moving parts: the moto container on a docker network, and the SAM CLI.

The functions run in Lambda containers started by `sam local`; they reach AWS only through the
moto container on a docker network this run creates (AWS_ENDPOINT_URL), and resolve no name
outside it. The test process reaches moto through a port published on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
TIER_LABEL = "vs.tier=samlocal"
MOTO_IMAGE = "video-sentiment/moto:server"
MOTO_PORT = 5000
# A DNS server that does not exist: names outside the docker network resolve to nothing, while
# docker's embedded DNS still answers for the containers on it.
NO_DNS = "127.0.0.1"
# Fake credentials for moto, so that no real ones on this machine are ever picked up.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class TierError(RuntimeError):
    """A step of the tier's set-up failed; the message carries the end of its output."""


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `cmd` to completion; raise TierError with the end of its output when it fails."""
    try:
        done = subprocess.run(
            [str(part) for part in cmd],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TierError(f"{' '.join(map(str, cmd))} did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-40:])
        raise TierError(f"{' '.join(map(str, cmd))} exited {done.returncode}:\n{tail}")
    return done


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, timeout: float) -> None:
    """Wait until `url` answers at all (any HTTP status); TierError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise TierError(f"{url} did not answer within {timeout:.0f} s: {exc}") from exc
            time.sleep(0.3)


@dataclass
class DockerNetwork:
    """A docker network for one run: internal, so nothing on it is routed off this machine."""

    name: str

    @classmethod
    def create(cls, prefix: str = "vs-samlocal") -> DockerNetwork:
        """Create a uniquely named internal network labelled as the tier's."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        run(["docker", "network", "create", "--internal", "--label", TIER_LABEL, name], timeout=60)
        return cls(name)

    def remove(self) -> None:
        """Remove the network and any container still attached to it."""
        listed = run(
            ["docker", "ps", "--all", "--quiet", "--filter", f"network={self.name}"], timeout=60
        )
        ids = listed.stdout.split()
        if ids:
            run(["docker", "rm", "--force", *ids], timeout=120)
        run(["docker", "network", "rm", self.name], timeout=60)


@dataclass
class MotoContainer:
    """moto in server mode: on the run's network for the functions, on 127.0.0.1 for the tests."""

    name: str
    host_port: int

    @classmethod
    def start(cls, network: DockerNetwork) -> MotoContainer:
        """Start moto, published on an ephemeral port of 127.0.0.1 only, and wait for it."""
        name = f"{network.name}-moto"
        # Created on the default bridge, which carries the published port (an internal network
        # publishes none), then attached to the run's network where the functions find it.
        run(
            [
                "docker", "create", "--name", name, "--label", TIER_LABEL, "--dns", NO_DNS,
                "--publish", f"127.0.0.1::{MOTO_PORT}", MOTO_IMAGE,
            ],
            timeout=60,
        )  # fmt: skip
        run(["docker", "network", "connect", network.name, name], timeout=60)
        run(["docker", "start", name], timeout=60)
        published = run(["docker", "port", name, f"{MOTO_PORT}/tcp"], timeout=30).stdout
        host, _, port = published.split()[0].rpartition(":")
        if host != "127.0.0.1":
            raise TierError(f"moto was published on {host}, not on 127.0.0.1 only")
        moto = cls(name=name, host_port=int(port))
        wait_for_http(f"{moto.host_url}/moto-api/", timeout=60)
        return moto

    @property
    def host_url(self) -> str:
        """Where the test process reaches moto."""
        return f"http://127.0.0.1:{self.host_port}"

    @property
    def network_url(self) -> str:
        """Where the functions reach moto, on the run's docker network."""
        return f"http://{self.name}:{MOTO_PORT}"

    def client(self, service: str) -> Any:
        """A boto3 client for `service` against this moto."""
        return boto3.client(
            service,
            endpoint_url=self.host_url,
            region_name=REGION,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"mode": "standard"}),
        )

    def table(self, name: str) -> Any:
        """A boto3 DynamoDB Table resource against this moto."""
        return boto3.resource(
            "dynamodb",
            endpoint_url=self.host_url,
            region_name=REGION,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        ).Table(name)

    def queue_async_inference_result(self, data: str) -> None:
        """What moto's InvokeEndpointAsync writes to its output location for the next call."""
        request = urllib.request.Request(
            f"{self.host_url}/moto-api/static/sagemaker/async-endpoint-results",
            data=json.dumps({"region": REGION, "results": [{"data": data}]}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            if response.status != 201:
                raise TierError(f"moto refused the async result: HTTP {response.status}")

    def remove(self) -> None:
        """Stop and remove the container."""
        run(["docker", "rm", "--force", self.name], timeout=120)


@dataclass
class InvokeResult:
    """What `sam local invoke` printed: the function's response, and its log."""

    response: Any
    log: str


class Sam:
    """The SAM CLI of .venv-sam, run against moto on the run's docker network."""

    def __init__(self, repo: Path, work: Path, network: DockerNetwork) -> None:
        self.repo = repo
        self.work = work
        self.network = network
        self.template = work / "build" / "template.yaml"
        self._bin = repo / ".venv-sam" / "bin" / "sam"

    def env(self) -> dict[str, str]:
        """The CLI's environment: no telemetry, fake credentials, no profile of this machine."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("AWS_") and not key.startswith("SAM_CLI_")
        }
        env.update(FAKE_CREDENTIALS)
        env.update(
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            SAM_CLI_TELEMETRY="0",
            PATH=f"{self._bin.parent}{os.pathsep}{env.get('PATH', '')}",
        )
        return env

    def build(self, cache_dir: Path) -> None:
        """`sam build` of the repository's template into the work folder (cached across runs)."""
        run(
            [
                self._bin, "build", "--template-file", self.repo / "template.yaml",
                "--build-dir", self.template.parent, "--cache-dir", cache_dir, "--cached",
            ],
            cwd=self.repo,
            env=self.env(),
            timeout=600,
        )  # fmt: skip

    def write_json(self, stem: str, document: Mapping[str, Any]) -> Path:
        """Write `document` to a fresh file in the work folder; returns its path."""
        path = self.work / f"{stem}-{uuid.uuid4().hex[:8]}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        return path

    def _local_options(self, env_vars: Path) -> list[str | Path]:
        return [
            "--template-file", self.template, "--env-vars", env_vars,
            "--docker-network", self.network.name, "--container-dns", NO_DNS,
            "--skip-pull-image", "--region", REGION,
        ]  # fmt: skip

    def invoke(self, function: str, event: Mapping[str, Any], env_vars: Path) -> InvokeResult:
        """`sam local invoke` of `function` with `event`; returns its parsed response."""
        done = run(
            [
                self._bin, "local", "invoke", function,
                "--event", self.write_json("event", event), *self._local_options(env_vars),
            ],
            cwd=self.work,
            env=self.env(),
            timeout=300,
        )  # fmt: skip
        lines = done.stdout.strip().splitlines()
        if not lines:
            raise TierError(f"sam local invoke {function} printed no response:\n{done.stderr}")
        return InvokeResult(response=json.loads(lines[-1]), log=done.stderr)

    @contextmanager
    def start_api(self, env_vars: Path) -> Iterator[str]:
        """`sam local start-api` on a free port of 127.0.0.1; yields its base URL."""
        port = free_port()
        log_path = self.work / "start-api.log"
        with log_path.open("w", encoding="utf-8") as log:
            process = subprocess.Popen(
                [
                    str(self._bin), "local", "start-api", "--host", "127.0.0.1",
                    "--port", str(port), *map(str, self._local_options(env_vars)),
                    # Each request runs the authorizer and then the api function: reusing their
                    # containers keeps a request from paying two cold starts every time.
                    "--warm-containers", "LAZY",
                ],
                cwd=self.work,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_for_http(url, timeout=120)
            except TierError as exc:
                tail = "\n".join(log_path.read_text(encoding="utf-8").splitlines()[-30:])
                raise TierError(f"sam local start-api did not come up:\n{tail}") from exc
            yield url
        finally:
            _stop_process_group(process)


def _stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGINT first (SAM then removes its containers), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
