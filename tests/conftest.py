"""Test tiers: every test takes the marker of the folder it lives in (tests/unit → `unit`, …)."""

from pathlib import Path

import pytest

TIERS = ("unit", "template", "model", "e2e", "samlocal")
ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier so `-m unit` and friends select whole folders."""
    for item in items:
        tier = Path(item.path).relative_to(ROOT / "tests").parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return ROOT
