"""One local stack for the whole e2e session, serving the tiny untrained model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vsent.client.api import ApiClient
from vsent.client.settings import ClientSettings, local_settings
from vsent.local.async_endpoint import Ledger
from vsent.local.process import StackProcess
from vsent.local.sample import make_sample
from vsent.local_info import StackInfo


@pytest.fixture(scope="session")
def stack(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackInfo]:
    """The local stack in a child process, as `vsent up` runs it."""
    process = StackProcess(tiny_model, tmp_path_factory.mktemp("stack"))
    info = process.start()
    yield info
    process.stop()


@pytest.fixture(scope="session")
def settings(stack: StackInfo) -> ClientSettings:
    """Client settings of the local stack."""
    return local_settings(stack)


@pytest.fixture(scope="session")
def client(settings: ClientSettings) -> ApiClient:
    """An API client holding the stack's key."""
    return ApiClient(settings.api_url, settings.api_key)


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A generated speech video and its SRT sidecar."""
    return make_sample(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="session")
def ledger(stack: StackInfo) -> Callable[[str], Counter[str]]:
    """How often the local endpoint recorded an event ("invoked", "processed") per job."""

    return Ledger(stack.ledger).counts
