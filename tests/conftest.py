"""Test tiers: every test takes the marker of the folder it lives in (tests/unit → `unit`, …)."""

from pathlib import Path

import pytest

TIERS = ("unit", "template", "model", "e2e", "samlocal", "browser")
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


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained tiny model folder for the local stack: the flow is under test, not the
    predictions (its results carry the demo label)."""
    import torch

    from vs_model.checkpoint import save_model
    from vs_model.config import preset
    from vs_model.network import MultimodalSentimentModel
    from vs_model.text import build_tokenizer

    torch.manual_seed(0)
    cfg = preset("tiny")
    folder = tmp_path_factory.mktemp("model")
    return save_model(folder, MultimodalSentimentModel(cfg), build_tokenizer(cfg), cfg)
