"""The container tier: the docker engine and images (scripts/containers_up.sh), `sam build`, moto
in a container on a docker network of this run, and the seeded stack. Everything started here is
stopped at the end (scripts/containers_down.sh), and the tier's duration is printed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samlocal_harness import ROOT, DockerNetwork, MotoContainer, Sam, TierError, run
from samlocal_stack import Tier, seed

STATE_DIR = Path(os.environ.get("VS_DOCKER_STATE_DIR", "/var/lib/vs-docker"))

_durations: dict[str, float] = {}


def _timed(name: str, step: Any, *args: Any) -> Any:
    start = time.monotonic()
    try:
        return step(*args)
    finally:
        _durations[name] = time.monotonic() - start


def _containers_up() -> None:
    run(["bash", ROOT / "scripts" / "containers_up.sh"], timeout=1200)


def _containers_down() -> None:
    run(["bash", ROOT / "scripts" / "containers_down.sh"], timeout=300)


def _require_endpoint_variable(template: Path) -> None:
    # sam local only passes --env-vars values for variables the template declares; without it
    # the functions would look for AWS itself.
    if "AWS_ENDPOINT_URL" not in template.read_text(encoding="utf-8"):
        raise TierError(
            "template.yaml declares no AWS_ENDPOINT_URL variable (e.g. `AWS_ENDPOINT_URL: "
            "!Ref AWS::NoValue` in Globals), so sam local cannot point the functions at moto"
        )


@pytest.fixture(scope="session")
def tier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tier]:
    """The running tier; set-up failures fail every test of the tier with the reason."""
    start = time.monotonic()
    work = tmp_path_factory.mktemp("samlocal")
    network: DockerNetwork | None = None
    moto: MotoContainer | None = None
    try:
        problem = None
        try:
            _timed("containers_up", _containers_up)
            network = DockerNetwork.create()
            sam = Sam(ROOT, work, network)
            _timed("sam build", sam.build, STATE_DIR / "sam-cache")
            _require_endpoint_variable(sam.template)
            moto = _timed("moto", MotoContainer.start, network)
            stack = seed(moto)
        except TierError as exc:
            problem = str(exc)
        if problem is not None:
            pytest.fail(f"the samlocal tier could not be set up: {problem}", pytrace=False)
        env_vars = sam.write_json("env-vars", {"Parameters": stack.environment(moto.network_url)})
        yield Tier(moto=moto, sam=sam, stack=stack, env_vars=env_vars)
    finally:
        teardown = time.monotonic()
        steps = [moto.remove if moto else None, network.remove if network else None]
        problems = []
        for step in [*steps, _containers_down]:
            try:
                if step is not None:
                    step()
            except TierError as exc:
                problems.append(str(exc))
        _durations["teardown"] = time.monotonic() - teardown
        _durations["tier"] = time.monotonic() - start
        if problems:
            pytest.fail("the samlocal tier did not stop cleanly:\n" + "\n".join(problems))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how long the tier took, and its slow steps."""
    if "tier" not in _durations:
        return
    steps = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in _durations.items())
    terminalreporter.write_line(f"samlocal tier: {_durations['tier']:.1f}s ({steps})")
