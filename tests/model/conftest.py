"""Shared fixtures of the model tier: a tiny configuration, its tokenizer, generated videos."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from vs_model.config import ModelConfig, preset
from vs_model.text import build_tokenizer, tokenize
from vsent.local.synthetic import SyntheticUtterance, make_meld_dataset, make_speech_video


@dataclass(frozen=True)
class GeneratedVideo:
    """A generated mp4 and what it contains."""

    path: Path
    utterances: tuple[SyntheticUtterance, ...]
    seconds: float
    fps: float
    size: tuple[int, int]
    has_audio: bool


SPEECH_UTTERANCES = (
    SyntheticUtterance("I am so happy today!", 0.5, 2.0, "joy"),
    SyntheticUtterance("I am so angry with you!", 3.0, 4.5, "anger"),
    SyntheticUtterance("I feel so alone.", 5.5, 7.0, "sadness"),
)


@pytest.fixture(scope="session")
def tiny_cfg() -> ModelConfig:
    """The tiny preset (treat as read-only; use `.replace()` for variants)."""
    return preset("tiny")


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_cfg: ModelConfig):
    """The tiny preset's offline tokenizer."""
    return build_tokenizer(tiny_cfg)


@pytest.fixture(scope="session")
def tiny_batch(tiny_cfg: ModelConfig, tiny_tokenizer) -> dict[str, torch.Tensor]:
    """A random batch of two in the tiny preset's input shapes (forward(**tiny_batch))."""
    gen = torch.Generator().manual_seed(0)
    tokens = tokenize(tiny_tokenizer, ["I am so happy today!", "What was that noise?"], tiny_cfg)
    size, frames = tiny_cfg.frame_size, tiny_cfg.video_frames
    return {
        **tokens,
        "frames": torch.randint(0, 256, (2, frames, 3, size, size), generator=gen).byte(),
        "mel": torch.randn(2, tiny_cfg.n_mels, tiny_cfg.mel_frames, generator=gen) * 20 - 30,
    }


@pytest.fixture(scope="session")
def speech_video(tmp_path_factory: pytest.TempPathFactory) -> GeneratedVideo:
    """8 s, 160x120 at 10 fps, with three spoken utterances (joy, anger, sadness); silence and
    a dark idle picture elsewhere."""
    path = tmp_path_factory.mktemp("media") / "speech.mp4"
    make_speech_video(path, SPEECH_UTTERANCES, size=(160, 120), fps=10, seconds=8.0, seed=1)
    return GeneratedVideo(path, SPEECH_UTTERANCES, 8.0, 10.0, (160, 120), True)


@pytest.fixture(scope="session")
def silent_video(tmp_path_factory: pytest.TempPathFactory) -> GeneratedVideo:
    """3 s without an audio track; the picture shows fear from 1 to 2 s."""
    utterances = (SyntheticUtterance("What was that noise?", 1.0, 2.0, "fear"),)
    path = tmp_path_factory.mktemp("media") / "silent.mp4"
    make_speech_video(path, utterances, fps=10, with_audio=False, seconds=3.0, seed=2)
    return GeneratedVideo(path, utterances, 3.0, 10.0, (160, 120), False)


@pytest.fixture(scope="session")
def small_meld(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic MELD-layout dataset: 2 dialogues of 2 utterances in each split (12 clips)."""
    root = tmp_path_factory.mktemp("meld")
    return make_meld_dataset(root, 2, seed=0, utterances_per_dialogue=2)


@pytest.fixture(scope="session")
def synthetic_meld(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic MELD dataset big enough to train on: 20/5/6 dialogues of 3 utterances."""
    root = tmp_path_factory.mktemp("synthetic-meld")
    return make_meld_dataset(root, {"train": 20, "dev": 5, "test": 6}, seed=7)
