"""Reading a feature cache: datasets over its shards, and the parts of one cache joined.

Reading maps each shard file into memory (``torch.load(mmap=True)``), so a dataset far larger
than RAM is read page by page. The layout is in :mod:`vs_model.cache_format`.
"""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import ConcatDataset, Dataset

from vs_model.cache_format import (
    CACHE_FORMAT,
    INDEX_FILE,
    PLAN_FILE,
    CacheError,
    cache_parts,
    feature_config,
)
from vs_model.config import ModelConfig


class CachedDataset(Dataset):
    """Items of a feature cache, in the same format as :class:`vs_model.datasets.ClipDataset`.

    Shard files are memory-mapped on first use and at most ``max_open_shards`` stay open per
    process, so memory is bounded by the page cache, not by the cache's size.
    """

    def __init__(self, folder: Path, *, max_open_shards: int = 8) -> None:
        self.folder = Path(folder)
        index_path = self.folder / INDEX_FILE
        if not index_path.is_file():
            raise CacheError(f"{self.folder} is not a feature cache (no {INDEX_FILE})")
        self.index = json.loads(index_path.read_text(encoding="utf-8"))
        if self.index.get("format") != CACHE_FORMAT:
            raise CacheError(f"{index_path}: unsupported format {self.index.get('format')!r}")
        self.max_open_shards = max_open_shards
        self._locations: list[tuple[int, int]] = []
        emotion: list[int] = []
        sentiment: list[int] = []
        self.ids: list[str] = []
        for number, shard in enumerate(self.index["shards"]):
            meta_path = self.folder / Path(shard["file"]).with_suffix(".json")
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            self._locations.extend((number, offset) for offset in range(shard["count"]))
            emotion.extend(meta["emotion"])
            sentiment.extend(meta["sentiment"])
            self.ids.extend(meta["ids"])
        self.emotion = torch.tensor(emotion, dtype=torch.long)
        self.sentiment = torch.tensor(sentiment, dtype=torch.long)
        self._open: OrderedDict[int, dict[str, object]] = OrderedDict()

    @property
    def features(self) -> dict[str, object]:
        """The feature configuration the cache was built with."""
        return self.index["features"]

    def check_compatible(self, cfg: ModelConfig) -> None:
        """Raise :class:`CacheError` when ``cfg`` expects other features than the cache holds."""
        wanted = feature_config(cfg)
        differ = [
            f"{k}: cache {self.features.get(k)!r}, model {v!r}"
            for k, v in wanted.items()
            if self.features.get(k) != v
        ]
        if differ:
            raise CacheError(f"{self.folder} was built for other features ({'; '.join(differ)})")

    def labels(self, head: str) -> torch.Tensor:
        """All labels of one head (``emotion`` or ``sentiment``), for class weights."""
        return getattr(self, head)

    def __len__(self) -> int:
        return len(self._locations)

    def __getitem__(self, index: int) -> dict[str, object]:
        number, offset = self._locations[index]
        shard = self._shard(number)
        return {
            "input_ids": shard["input_ids"][offset].long(),
            "attention_mask": shard["attention_mask"][offset].long(),
            "frames": shard["frames"][offset].clone(),
            "mel": shard["mel"][offset].float(),
            "emotion": shard["emotion"][offset].clone(),
            "sentiment": shard["sentiment"][offset].clone(),
            "id": shard["ids"][offset],
        }

    def _shard(self, number: int) -> dict[str, object]:
        if number in self._open:
            self._open.move_to_end(number)
            return self._open[number]
        path = self.folder / self.index["shards"][number]["file"]
        shard = torch.load(path, mmap=True, weights_only=True, map_location="cpu")
        self._open[number] = shard
        while len(self._open) > self.max_open_shards:
            self._open.popitem(last=False)
        return shard

    def __getstate__(self) -> dict[str, object]:
        # Loader workers open their own maps; mapped shards are not pickled across processes.
        state = self.__dict__.copy()
        state["_open"] = OrderedDict()
        return state


class CachePartsDataset(ConcatDataset):
    """The parts of one split's cache, built by separate instances, read as one dataset."""

    def __init__(self, parts: Sequence[CachedDataset]) -> None:
        super().__init__(parts)
        self.parts = list(parts)
        self.ids = [key for part in self.parts for key in part.ids]
        self.emotion = torch.cat([part.emotion for part in self.parts])
        self.sentiment = torch.cat([part.sentiment for part in self.parts])

    def check_compatible(self, cfg: ModelConfig) -> None:
        """Raise :class:`CacheError` when any part holds other features than ``cfg`` expects."""
        for part in self.parts:
            part.check_compatible(cfg)

    def labels(self, head: str) -> torch.Tensor:
        """All labels of one head (``emotion`` or ``sentiment``), parts in order."""
        return getattr(self, head)


def open_cache(folder: Path) -> CachedDataset | CachePartsDataset:
    """The cache in ``folder``: one cache, or the parts of one in its subfolders, joined.

    Parts must all be finished and hold the same split and features, and no utterance twice;
    otherwise :class:`CacheError` says which part is the problem.
    """
    folder = Path(folder)
    found = cache_parts(folder)
    if not found:
        raise CacheError(
            f"{folder} is not a feature cache (no {INDEX_FILE} in it or its subfolders)"
        )
    if found == [folder]:
        return CachedDataset(folder)
    # A part with a plan but no index is a build that has not finished (or failed): training
    # on the other parts alone would silently drop its clips.
    unfinished = sorted(
        sub.name for sub in folder.iterdir() if (sub / PLAN_FILE).is_file() and sub not in found
    )
    if unfinished:
        raise CacheError(f"{folder}: unfinished cache parts {', '.join(unfinished)}")
    parts = [CachedDataset(path) for path in found]
    first = parts[0]
    for part in parts[1:]:
        for field_name in ("split", "features"):
            if part.index.get(field_name) != first.index.get(field_name):
                raise CacheError(
                    f"{part.folder.name} and {first.folder.name} in {folder} differ in "
                    f"{field_name}: parts of one cache must be built alike"
                )
    repeated = [key for key, count in Counter(k for p in parts for k in p.ids).items() if count > 1]
    if repeated:
        raise CacheError(f"{folder}: utterances in more than one part: {', '.join(repeated[:5])}")
    return CachePartsDataset(parts)
