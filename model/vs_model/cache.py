"""The feature cache: MELD clips decoded once into shards that training reads every epoch.

Layout of a cache folder::

    plan.json            what the cache is built from (config, clip keys); a changed plan rebuilds
    shard-00000.pt       torch.save dict: frames uint8 [n, T, 3, S, S], mel float16 [n, n_mels, F],
                         input_ids int32 [n, L], attention_mask int8 [n, L], emotion / sentiment
                         int64 [n], ids list[str]
    shard-00000.json     the shard's ids, labels and the keys it skipped (written after the .pt)
    index.json           written last: shards, item count, label counts, skipped keys by reason

A cache built by several instances is a folder of such caches, one per part
(``part-000-of-004/`` …); :func:`open_cache` reads them as one dataset.

Shards are built in parallel worker processes and written atomically, so an interrupted build
resumes where it stopped: a shard whose .json exists is done. Reading maps each shard file into
memory (``torch.load(mmap=True)``), so a dataset far larger than RAM is read page by page.
"""

from __future__ import annotations

import json
import os
from collections import Counter, OrderedDict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import torch
from torch.utils.data import ConcatDataset, Dataset
from tqdm.auto import tqdm

from vs_model.config import ModelConfig
from vs_model.datasets import DEFAULT_MAX_CLIP_SECONDS, clip_features
from vs_model.labels import EMOTIONS, SENTIMENTS
from vs_model.meld import MeldUtterance
from vs_model.video_file import MediaError

CACHE_FORMAT = "video-sentiment/feature-cache@1"
INDEX_FILE = "index.json"
PLAN_FILE = "plan.json"
DEFAULT_SHARD_SIZE = 128
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


@dataclass
class CacheSummary:
    """What a build produced: item and shard counts, shards reused, keys skipped by reason."""

    folder: Path
    items: int
    shards: int
    reused_shards: int
    skipped: dict[str, list[str]] = field(default_factory=dict)

    @property
    def skipped_counts(self) -> dict[str, int]:
        """Number of skipped utterances per reason."""
        return {reason: len(keys) for reason, keys in self.skipped.items()}


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


def build_cache(
    utterances: Sequence[MeldUtterance],
    folder: Path,
    cfg: ModelConfig,
    tokenizer: object,
    *,
    split: str,
    shard_size: int = DEFAULT_SHARD_SIZE,
    workers: int | None = None,
    max_clip_seconds: float = DEFAULT_MAX_CLIP_SECONDS,
    skipped: dict[str, list[str]] | None = None,
    progress: bool = True,
) -> CacheSummary:
    """Decode every utterance's clip once and write the cache into ``folder``.

    ``skipped`` carries keys the MELD reader already dropped (missing clips, duplicates) so the
    index counts them too. ``workers`` processes decode shards in parallel (default: CPU count,
    at most the number of shards); ``workers=0`` decodes in this process. Shards finished by an
    earlier, interrupted build are reused.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if shard_size < 1:
        raise ValueError("shard_size must be at least 1")
    utterances = list(utterances)
    plan = {
        "format": CACHE_FORMAT,
        "split": split,
        "features": feature_config(cfg),
        "shard_size": shard_size,
        "max_clip_seconds": max_clip_seconds,
        "keys": [u.key for u in utterances],
    }
    _start_or_resume(folder, plan)

    # Imported here: transformers takes seconds to import, and the decoding worker processes,
    # which import this module, never need it.
    from vs_model.text import tokenize

    tokens = tokenize(tokenizer, [u.text for u in utterances], cfg)
    jobs = []
    reused = 0
    for number, start in enumerate(range(0, len(utterances), shard_size)):
        chunk = range(start, min(start + shard_size, len(utterances)))
        if (folder / _shard_name(number, ".json")).is_file():
            reused += 1
            continue
        jobs.append(
            _ShardJob(
                path=str(folder / _shard_name(number, ".pt")),
                cfg=cfg.to_dict(),
                max_clip_seconds=max_clip_seconds,
                keys=[utterances[i].key for i in chunk],
                clips=[str(utterances[i].clip) for i in chunk],
                emotion=[utterances[i].emotion_index for i in chunk],
                sentiment=[utterances[i].sentiment_index for i in chunk],
                input_ids=tokens["input_ids"][chunk.start : chunk.stop].tolist(),
                attention_mask=tokens["attention_mask"][chunk.start : chunk.stop].tolist(),
            )
        )
    shard_count = -(-len(utterances) // shard_size)
    done_items = len(utterances) - sum(len(job.keys) for job in jobs)
    with tqdm(
        total=len(utterances),
        initial=done_items,
        desc=f"feature cache {split}",
        unit="clip",
        disable=not progress,
    ) as bar:
        for count in _run_jobs(jobs, workers):
            bar.update(count)
    return _write_index(folder, plan, shard_count, reused, skipped or {})


def _start_or_resume(folder: Path, plan: dict[str, object]) -> None:
    plan_path = folder / PLAN_FILE
    if plan_path.is_file():
        if json.loads(plan_path.read_text(encoding="utf-8")) == plan:
            return
        # Built for other clips or other features: none of the shards can be reused.
        for stale in [*folder.glob("shard-*.pt"), *folder.glob("shard-*.json")]:
            stale.unlink()
    (folder / INDEX_FILE).unlink(missing_ok=True)
    _write_json(plan_path, plan)


def _shard_name(number: int, suffix: str) -> str:
    return f"shard-{number:05d}{suffix}"


@dataclass
class _ShardJob:
    path: str
    cfg: dict[str, object]
    max_clip_seconds: float
    keys: list[str]
    clips: list[str]
    emotion: list[int]
    sentiment: list[int]
    # Plain lists: they pickle to worker processes without shared-memory file handles.
    input_ids: list[list[int]]
    attention_mask: list[list[int]]


def _run_jobs(jobs: list[_ShardJob], workers: int | None):
    if workers is None:
        workers = os.cpu_count() or 1
    workers = min(workers, len(jobs))
    if workers <= 1:
        for job in jobs:
            yield _build_shard(job)
        return
    # spawn, not fork: a forked child of a process that already ran OpenMP regions can hang.
    with ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=_init_worker
    ) as pool:
        futures = [pool.submit(_build_shard, job) for job in jobs]
        for future in as_completed(futures):
            yield future.result()


def _init_worker() -> None:
    # Each worker decodes one clip at a time; the parallelism is across processes.
    torch.set_num_threads(1)


def _build_shard(job: _ShardJob) -> int:
    """Decode one shard's clips and write the shard; returns how many utterances it covered."""
    cfg = ModelConfig.from_dict(job.cfg)
    kept: list[int] = []
    frames: list[torch.Tensor] = []
    mels: list[torch.Tensor] = []
    corrupt: list[str] = []
    missing: list[str] = []
    for position, clip in enumerate(job.clips):
        if not Path(clip).is_file():
            missing.append(job.keys[position])
            continue
        try:
            clip_frames, clip_mel = clip_features(Path(clip), cfg, job.max_clip_seconds)
        except MediaError:
            corrupt.append(job.keys[position])
            continue
        kept.append(position)
        frames.append(clip_frames)
        mels.append(clip_mel.to(torch.float16))
    index = torch.tensor(kept, dtype=torch.long)
    shard = {
        "frames": _stack(frames, (0, cfg.video_frames, 3, cfg.frame_size, cfg.frame_size)),
        "mel": _stack(mels, (0, cfg.n_mels, cfg.mel_frames), torch.float16),
        "input_ids": torch.tensor(job.input_ids, dtype=torch.int32)[index].contiguous(),
        "attention_mask": torch.tensor(job.attention_mask, dtype=torch.int8)[index].contiguous(),
        "emotion": torch.tensor([job.emotion[i] for i in kept], dtype=torch.long),
        "sentiment": torch.tensor([job.sentiment[i] for i in kept], dtype=torch.long),
        "ids": [job.keys[i] for i in kept],
    }
    path = Path(job.path)
    temporary = path.with_suffix(".pt.partial")
    torch.save(shard, temporary)
    os.replace(temporary, path)
    skipped = {"corrupt": corrupt, "missing": missing}
    meta = {
        "file": path.name,
        "count": len(kept),
        "ids": shard["ids"],
        "emotion": shard["emotion"].tolist(),
        "sentiment": shard["sentiment"].tolist(),
        "skipped": {reason: keys for reason, keys in skipped.items() if keys},
    }
    _write_json(path.with_suffix(".json"), meta)
    return len(job.keys)


def _stack(
    tensors: list[torch.Tensor], empty_shape: tuple[int, ...], dtype: torch.dtype = torch.uint8
) -> torch.Tensor:
    if not tensors:
        return torch.zeros(empty_shape, dtype=dtype)
    return torch.stack(tensors).contiguous()


def _write_index(
    folder: Path,
    plan: dict[str, object],
    shard_count: int,
    reused: int,
    skipped: dict[str, list[str]],
) -> CacheSummary:
    shards = []
    all_skipped = {reason: list(keys) for reason, keys in skipped.items()}
    emotion: Counter[str] = Counter()
    sentiment: Counter[str] = Counter()
    for number in range(shard_count):
        meta = json.loads((folder / _shard_name(number, ".json")).read_text(encoding="utf-8"))
        shards.append({"file": meta["file"], "count": meta["count"]})
        for reason, keys in meta["skipped"].items():
            all_skipped.setdefault(reason, []).extend(keys)
        emotion.update(EMOTIONS[i] for i in meta["emotion"])
        sentiment.update(SENTIMENTS[i] for i in meta["sentiment"])
    items = sum(s["count"] for s in shards)
    index = {
        "format": CACHE_FORMAT,
        "split": plan["split"],
        "features": plan["features"],
        "items": items,
        "shards": shards,
        "label_counts": {
            "emotion": {name: emotion[name] for name in EMOTIONS},
            "sentiment": {name: sentiment[name] for name in SENTIMENTS},
        },
        "skipped": all_skipped,
        "skipped_counts": {reason: len(keys) for reason, keys in all_skipped.items()},
    }
    _write_json(folder / INDEX_FILE, index)
    return CacheSummary(folder, items, shard_count, reused, all_skipped)


def _write_json(path: Path, data: object) -> None:
    temporary = path.with_suffix(path.suffix + ".partial")
    temporary.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)


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
