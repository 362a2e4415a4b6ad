"""The feature cache's on-disk format: MELD clips decoded once into shards that training reads.

Layout of a cache folder::

    plan.json            what the cache is built from (config, clip keys); a changed plan rebuilds
    shard-00000.pt       torch.save dict: frames uint8 [n, T, 3, S, S], mel float16 [n, n_mels, F],
                         input_ids int32 [n, L], attention_mask int8 [n, L], emotion / sentiment
                         int64 [n], ids list[str]
    shard-00000.json     the shard's ids, labels and the keys it skipped (written after the .pt)
    index.json           written last: shards, item count, label counts, skipped keys by reason

A cache built by several instances is a folder of such caches, one per part
(``part-000-of-004/`` …); :func:`vs_model.cache_read.open_cache` reads them as one dataset.

:mod:`vs_model.cache_build` writes caches, :mod:`vs_model.cache_read` reads them.
"""

from __future__ import annotations

from pathlib import Path

from vs_model.config import ModelConfig

# @2: token ids of normalised text (text.normalize_text).
CACHE_FORMAT = "video-sentiment/feature-cache@2"
INDEX_FILE = "index.json"
PLAN_FILE = "plan.json"
# The fields of ModelConfig that shape cached tensors; a model may train on a cache only when
# these agree.
FEATURE_FIELDS = (
    "text_model",
    "text_max_length",
    "video_frames",
    "frame_size",
    "sample_rate",
    "n_mels",
    "n_fft",
    "win_length",
    "hop_length",
    "audio_seconds",
    "mel_frames",
)


class CacheError(ValueError):
    """A folder that is not a usable feature cache, or one built for other features."""


def feature_config(cfg: ModelConfig) -> dict[str, object]:
    """The part of a model configuration that determines the cached features."""
    data = cfg.to_dict()
    return {name: data[name] for name in FEATURE_FIELDS}


def is_cache(folder: Path) -> bool:
    """Whether ``folder`` holds a feature cache: its own or, in its subfolders, parts of one."""
    return bool(cache_parts(folder))


def cache_parts(folder: Path) -> list[Path]:
    """The cache folders of ``folder``: itself when it holds an index, else its subfolders that do.

    An empty list means ``folder`` holds no cache at all.
    """
    folder = Path(folder)
    if (folder / INDEX_FILE).is_file():
        return [folder]
    if not folder.is_dir():
        return []
    return sorted(sub for sub in folder.iterdir() if (sub / INDEX_FILE).is_file())


def shard_name(number: int, suffix: str) -> str:
    """The file name of shard ``number`` with ``suffix`` (``.pt`` or ``.json``)."""
    return f"shard-{number:05d}{suffix}"
