"""A dataset that decodes MELD clips per item (for small runs), the text-only dataset, the per-clip
feature extraction the feature cache shares, and the collate function of every loader.

An item is a dict: ``input_ids`` and ``attention_mask`` int64 [L], ``frames`` uint8 [T, 3, S, S],
``mel`` float32 [n_mels, F] (neither in text-only items), ``emotion`` and ``sentiment`` int64
scalars, ``id`` (the clip key).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset

from vs_model.config import ModelConfig
from vs_model.media import extract
from vs_model.meld import MeldUtterance
from vs_model.video_file import MediaError
from vs_model.video_probe import probe

LOGGER = logging.getLogger(__name__)

# MELD has a few clips minutes long although the utterance is seconds; the utterance sits at the
# start, so decoding stops here instead of sampling frames across minutes of another scene.
DEFAULT_MAX_CLIP_SECONDS = 30.0
LABEL_KEYS = ("emotion", "sentiment")


def clip_features(
    path: Path, cfg: ModelConfig, max_seconds: float = DEFAULT_MAX_CLIP_SECONDS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames uint8 [T, 3, S, S] and log-mel float32 [n_mels, F] of a whole utterance clip.

    Raises :class:`vs_model.video_file.MediaError` for a file that is not a decodable video.
    """
    info = probe(path)
    end = min(info.duration_s, max_seconds) if info.duration_s > 0 else max_seconds
    features = extract(path, [(0.0, end)], cfg)
    return features.frames[0], features.mel[0].float()


class ClipDataset(Dataset):
    """MELD utterances decoded from their mp4 clips on every access.

    Text is tokenized once up front. A clip that fails to decode yields ``None``, which
    :func:`collate_items` drops, and its key is added to :attr:`failed` (per worker process).
    """

    def __init__(
        self,
        utterances: Sequence[MeldUtterance],
        cfg: ModelConfig,
        tokenizer: object,
        *,
        max_clip_seconds: float = DEFAULT_MAX_CLIP_SECONDS,
    ) -> None:
        missing = [u.key for u in utterances if u.clip is None]
        if missing:
            raise ValueError(f"utterances without a clip path: {', '.join(missing[:5])}")
        self.utterances = list(utterances)
        self.cfg = cfg
        self.max_clip_seconds = max_clip_seconds
        # Imported here so the cache's decoding workers, which import this module, skip
        # transformers (seconds of start-up per process).
        from vs_model.text import tokenize

        tokens = tokenize(tokenizer, [u.text for u in self.utterances], cfg)
        self.input_ids = tokens["input_ids"]
        self.attention_mask = tokens["attention_mask"]
        self.emotion = torch.tensor([u.emotion_index for u in self.utterances], dtype=torch.long)
        self.sentiment = torch.tensor(
            [u.sentiment_index for u in self.utterances], dtype=torch.long
        )
        self.failed: list[str] = []

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, index: int) -> dict[str, object] | None:
        utterance = self.utterances[index]
        try:
            frames, mel = clip_features(utterance.clip, self.cfg, self.max_clip_seconds)
        except MediaError as error:
            LOGGER.warning("skipping %s: %s", utterance.key, error)
            self.failed.append(utterance.key)
            return None
        return {
            "input_ids": self.input_ids[index],
            "attention_mask": self.attention_mask[index],
            "frames": frames,
            "mel": mel,
            "emotion": self.emotion[index],
            "sentiment": self.sentiment[index],
            "id": utterance.key,
        }

    def labels(self, head: str) -> torch.Tensor:
        """All labels of one head (``emotion`` or ``sentiment``), for class weights."""
        return getattr(self, head)


class TextDataset(Dataset):
    """MELD utterances as text alone (what a text-only model reads): no clip is ever opened.

    With ``cfg.dialogue_context`` each utterance comes with the earlier turns of its dialogue.
    """

    def __init__(
        self, utterances: Sequence[MeldUtterance], cfg: ModelConfig, tokenizer: object
    ) -> None:
        from vs_model.meld import preceding_utterances
        from vs_model.text import dialogue_context, tokenize

        self.utterances = list(utterances)
        contexts = None
        if cfg.dialogue_context:
            contexts = [
                dialogue_context([(e.speaker, e.text) for e in earlier], u.speaker)
                for u, earlier in zip(
                    self.utterances, preceding_utterances(self.utterances), strict=True
                )
            ]
        tokens = tokenize(tokenizer, [u.text for u in self.utterances], cfg, contexts)
        self.input_ids = tokens["input_ids"]
        self.attention_mask = tokens["attention_mask"]
        self.emotion = torch.tensor([u.emotion_index for u in self.utterances], dtype=torch.long)
        self.sentiment = torch.tensor(
            [u.sentiment_index for u in self.utterances], dtype=torch.long
        )

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, index: int) -> dict[str, object]:
        return {
            "input_ids": self.input_ids[index],
            "attention_mask": self.attention_mask[index],
            "emotion": self.emotion[index],
            "sentiment": self.sentiment[index],
            "id": self.utterances[index].key,
        }

    def labels(self, head: str) -> torch.Tensor:
        """All labels of one head (``emotion`` or ``sentiment``), for class weights."""
        return getattr(self, head)


TENSOR_KEYS = ("input_ids", "attention_mask", "frames", "mel", *LABEL_KEYS)


def collate_items(items: Sequence[dict[str, object] | None]) -> dict[str, object]:
    """Stack items into a batch; ``None`` items (clips that failed to decode) are dropped.

    Token rows are cut to the longest in the batch: MELD utterances are short, and the padding
    up to ``text_max_length`` would otherwise multiply the text encoder's work.
    """
    kept = [item for item in items if item is not None]
    if not kept:
        return {"ids": []}
    batch: dict[str, object] = {
        key: torch.stack([item[key] for item in kept]) for key in TENSOR_KEYS if key in kept[0]
    }
    longest = max(1, int(batch["attention_mask"].sum(dim=1).max()))
    batch["input_ids"] = batch["input_ids"][:, :longest]
    batch["attention_mask"] = batch["attention_mask"][:, :longest]
    batch["ids"] = [item["id"] for item in kept]
    return batch


def batch_size_of(batch: dict[str, object]) -> int:
    """Number of items in a collated batch (0 when every clip failed)."""
    return len(batch["ids"])
