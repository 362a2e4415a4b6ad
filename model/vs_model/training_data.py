"""The datasets of a training run: one per SageMaker channel, cached on first use, optionally cut.

A channel folder is either a feature cache or MELD's layout; the latter is decoded once into a
feature cache under ``--cache-dir`` by the main process while the others wait.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from vs_model.cache_build import build_cache
from vs_model.cache_format import is_cache
from vs_model.cache_read import CachedDataset, open_cache
from vs_model.config import ModelConfig
from vs_model.datasets import ClipDataset, TextDataset
from vs_model.distributed import DistContext, barrier, make_loader
from vs_model.meld import has_media, load_split, load_text_split
from vs_model.training_options import TrainOptions

LOGGER = logging.getLogger(__name__)

CHANNEL_SPLITS = {"train": "train", "validation": "dev", "test": "test"}


def open_channel(
    folder: Path,
    channel: str,
    cfg: ModelConfig,
    tokenizer: object,
    options: TrainOptions,
    ctx: DistContext,
) -> Dataset:
    """The dataset of one channel: an existing feature cache, MELD clips cached on first use, or
    (for a text-only model) the rows of a MELD CSV."""
    if cfg.text_only and not is_cache(folder):
        split = load_text_split(folder, CHANNEL_SPLITS[channel])
        return TextDataset(split.utterances, cfg, tokenizer)
    if is_cache(folder):
        dataset = open_cache(folder)
        dataset.check_compatible(cfg)
        return dataset
    split = load_split(folder, CHANNEL_SPLITS[channel])
    if split.skipped_counts and ctx.is_main:
        LOGGER.info("%s: skipped %s", channel, split.skipped_counts)
    if options.decode_every_epoch:
        return ClipDataset(
            split.utterances, cfg, tokenizer, max_clip_seconds=options.max_clip_seconds
        )
    cache_folder = options.cache_dir / channel
    if ctx.is_main:
        summary = build_cache(
            split.utterances,
            cache_folder,
            cfg,
            tokenizer,
            split=split.name,
            shard_size=options.shard_size,
            workers=options.cache_workers,
            max_clip_seconds=options.max_clip_seconds,
            skipped=split.skipped,
            progress=options.progress,
        )
        LOGGER.info(
            "%s cache: %d clips in %d shards (%d reused), skipped %s",
            channel,
            summary.items,
            summary.shards,
            summary.reused_shards,
            summary.skipped_counts,
        )
    barrier(ctx)
    return CachedDataset(cache_folder)


def channel_has_media(folder: Path, channel: str) -> bool:
    """Whether a channel holds video and audio: a feature cache or MELD's clip folders."""
    return is_cache(folder) or has_media(folder, CHANNEL_SPLITS[channel])


def limit_samples(dataset: Dataset, limit: int | None, seed: int) -> Dataset:
    """A seeded random ``limit`` items of ``dataset`` in their order, or all of it."""
    if limit is None or limit >= len(dataset):
        return dataset
    generator = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(len(dataset), generator=generator)[:limit].sort().values
    return Subset(dataset, chosen.tolist())


def open_run_datasets(
    options: TrainOptions, cfg: ModelConfig, tokenizer: object, ctx: DistContext
) -> tuple[Dataset, Dataset, Dataset | None]:
    """Train, validation and (when there is a test channel) test data, cut to the sample limits."""

    def channel(folder: Path, name: str, limit: int | None) -> Dataset:
        dataset = open_channel(folder, name, cfg, tokenizer, options, ctx)
        return limit_samples(dataset, limit, options.seed)

    train_set = channel(options.train, "train", options.max_train_samples)
    validation_set = channel(options.validation, "validation", options.max_eval_samples)
    test_set = None
    if options.test is not None:
        test_set = channel(options.test, "test", options.max_eval_samples)
    if len(train_set) == 0 or len(validation_set) == 0:
        raise ValueError("the training and validation data must each hold at least one clip")
    return train_set, validation_set, test_set


def dataset_labels(dataset: Dataset, head: str) -> torch.Tensor:
    """Labels of one head for every item of a dataset (a Subset included), without decoding."""
    if isinstance(dataset, Subset):
        return dataset_labels(dataset.dataset, head)[torch.as_tensor(dataset.indices)]
    return dataset.labels(head)


def text_lengths(dataset: Dataset) -> list[int] | None:
    """Tokens per item of a text-only dataset (a Subset included); None for media datasets."""
    if isinstance(dataset, Subset):
        lengths = text_lengths(dataset.dataset)
        return None if lengths is None else [lengths[i] for i in dataset.indices]
    if isinstance(dataset, TextDataset):
        return dataset.attention_mask.sum(dim=1).tolist()
    return None


def run_loader(
    dataset: Dataset, options: TrainOptions, ctx: DistContext, *, train: bool
) -> DataLoader:
    """The run's loader over ``dataset``; training text batches are grouped by length."""
    return make_loader(
        dataset,
        options.batch_size,
        ctx,
        train=train,
        seed=options.seed,
        num_workers=options.num_workers,
        lengths=text_lengths(dataset) if train else None,
    )
