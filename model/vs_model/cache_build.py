"""Building a feature cache: every clip decoded once, in parallel, into resumable shards.

Shards are built in parallel worker processes and written atomically, so an interrupted build
resumes where it stopped: a shard whose .json exists is done. The layout is in
:mod:`vs_model.cache_format`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import torch
from tqdm.auto import tqdm

from vs_model.cache_format import (
    CACHE_FORMAT,
    INDEX_FILE,
    PLAN_FILE,
    feature_config,
    shard_name,
)
from vs_model.config import ModelConfig
from vs_model.datasets import DEFAULT_MAX_CLIP_SECONDS, clip_features
from vs_model.labels import EMOTIONS, SENTIMENTS
from vs_model.meld import MeldUtterance
from vs_model.video_file import MediaError

DEFAULT_SHARD_SIZE = 128


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
        if (folder / shard_name(number, ".json")).is_file():
            reused += 1
            continue
        jobs.append(
            _ShardJob(
                path=str(folder / shard_name(number, ".pt")),
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
        meta = json.loads((folder / shard_name(number, ".json")).read_text(encoding="utf-8"))
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
