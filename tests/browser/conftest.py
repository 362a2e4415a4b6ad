"""The browser tier: the web page in Debian's Chromium, driven by Playwright, against a local
stack of its own (`vsent up`'s child process, with its own state folder and ports).

Playwright never downloads a browser here: it launches /usr/bin/chromium (scripts/setup.sh
installs Debian's package). A failed test leaves a screenshot in test-output/browser/.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import CHROMIUM, DESKTOP, OUTPUT
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from vsent.local.process import StackProcess
from vsent.local.sample import make_sample
from vsent.local_info import StackInfo

_started = time.monotonic()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Keep each phase's report on the test, so the page fixture knows whether it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Print how long the tier took (the budget is five minutes of CI)."""
    if any(item.get_closest_marker("browser") for item in session.items):
        print(f"\nbrowser tier: {time.monotonic() - _started:.0f} s")


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Where screenshots go (git-ignored)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


@pytest.fixture(scope="session")
def web_stack(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackInfo]:
    """A local stack started as `vsent up` starts it, serving the page."""
    process = StackProcess(tiny_model, tmp_path_factory.mktemp("web-stack"))
    info = process.start()
    yield info
    process.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless (no sandbox: the tier runs as root)."""
    if not CHROMIUM.is_file() or not shutil.which(str(CHROMIUM)):
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium package")
    launched = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
    )
    yield launched
    launched.close()


def _new_context(browser: Browser, viewport: dict[str, int]) -> BrowserContext:
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, output_dir: Path) -> Iterator[Page]:
    """A fresh desktop-sized page (its own storage: signed out); screenshot if the test fails."""
    context = _new_context(browser, DESKTOP)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        tab.screenshot(path=str(output_dir / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture(scope="session")
def sample_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A generated speech video and its SRT sidecar."""
    return make_sample(tmp_path_factory.mktemp("browser-media"), "talk")
