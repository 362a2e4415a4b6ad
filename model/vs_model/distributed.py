"""One training process, or several launched by ``torchrun`` (DDP: NCCL on GPUs, gloo on CPUs).

Every collective step training takes goes through here and is a no-op in a single process, so the
training loop reads the same either way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from vs_model.datasets import collate_items


@dataclass(frozen=True)
class DistContext:
    """This process's place in the run: its rank among ``world_size`` and its device."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that evaluates, logs and writes files."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """Whether there are other processes to synchronise with."""
        return self.world_size > 1


def single_process(device: torch.device) -> DistContext:
    """The context of a run with no other process (no process group)."""
    return DistContext(rank=0, world_size=1, device=device)


def init_distributed() -> DistContext:
    """Join torchrun's process group when ``WORLD_SIZE`` > 1, else run alone; picks the device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    use_cuda = torch.cuda.is_available()
    if world_size > 1:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if use_cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
        return DistContext(dist.get_rank(), world_size, device)
    return single_process(torch.device("cuda" if use_cuda else "cpu"))


def shutdown(ctx: DistContext) -> None:
    """Leave the process group, if there is one."""
    if ctx.enabled:
        dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    """Wait until every process gets here."""
    if ctx.enabled:
        dist.barrier()


def sum_across(total: torch.Tensor, ctx: DistContext) -> None:
    """Sum ``total`` over every process, in place."""
    if ctx.enabled:
        dist.all_reduce(total)


def broadcast_from_main(value: Any, ctx: DistContext) -> Any:
    """The main process's ``value`` (any picklable object) in every process."""
    box = [value]
    if ctx.enabled:
        dist.broadcast_object_list(box, src=0)
    return box[0]


def wrap_model(model: nn.Module, ctx: DistContext) -> nn.Module:
    """The model that trains: DDP around ``model`` when there are other processes."""
    if not ctx.enabled:
        return model
    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def make_loader(
    dataset: Dataset,
    batch_size: int,
    ctx: DistContext,
    *,
    train: bool,
    seed: int,
    num_workers: int,
    lengths: list[int] | None = None,
) -> DataLoader:
    """Batches of ``dataset``; for training shuffled, and split between processes under DDP.

    With the items' token ``lengths`` training batches hold texts of similar length (shuffled
    within and across groups), so little compute goes into padding.
    """
    sampler = None
    generator = torch.Generator().manual_seed(seed)
    if train and lengths is not None:
        # Imported here: only text training with known lengths needs the trainer utilities.
        from transformers.trainer_pt_utils import (
            DistributedLengthGroupedSampler,
            LengthGroupedSampler,
        )

        if ctx.enabled:
            sampler = DistributedLengthGroupedSampler(
                batch_size, num_replicas=ctx.world_size, rank=ctx.rank, seed=seed, lengths=lengths
            )
        else:
            sampler = LengthGroupedSampler(batch_size, lengths=lengths, generator=generator)
    elif train and ctx.enabled:
        sampler = DistributedSampler(
            dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=seed
        )
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate_items,
        pin_memory=ctx.device.type == "cuda",
        persistent_workers=num_workers > 0,
        drop_last=False,
        generator=generator,
    )


def set_epoch(loader: DataLoader, epoch: int) -> None:
    """Reshuffle a distributed sampler's split for ``epoch`` (a plain loader shuffles itself)."""
    if isinstance(loader.sampler, DistributedSampler):
        loader.sampler.set_epoch(epoch)
