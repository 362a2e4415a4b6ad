"""Training throughput from the feature cache against decoding the mp4 clips every epoch.

Generates a synthetic MELD set, builds its feature cache (timed separately: it is paid once),
then trains the tiny model for one epoch from each source and prints samples per second.

    .venv/bin/python benchmarks/cache_vs_decode.py --dialogues 30 --num-workers 0
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "model"))

from vs_model.cache_build import build_cache
from vs_model.cache_read import CachedDataset
from vs_model.config import preset
from vs_model.datasets import ClipDataset, collate_items
from vs_model.evaluation import MODEL_INPUTS
from vs_model.meld import load_split
from vs_model.network import MultimodalSentimentModel
from vs_model.optimization import MultiTaskLoss
from vs_model.text import build_tokenizer
from vsent.local.synthetic import make_meld_dataset


def epoch_throughput(dataset: Dataset, cfg, batch_size: int, num_workers: int) -> float:
    """Samples per second of one training epoch (forward, backward, step) over ``dataset``."""
    torch.manual_seed(0)
    model = MultimodalSentimentModel(cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = MultiTaskLoss(None, None, 0.1)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=num_workers,
        collate_fn=collate_items,
    )
    model.train()
    seen = 0
    started = time.perf_counter()
    for batch in loader:
        output = model(**{k: batch[k] for k in MODEL_INPUTS})
        loss = loss_fn(output, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += len(batch["ids"])
    return seen / (time.perf_counter() - started)


def main() -> None:
    """Print samples/s from the cache and from decoding, and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialogues", type=int, default=30, help="train dialogues (3 clips each)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--num-workers", type=int, default=0, help="data loader processes")
    parser.add_argument("--preset", default="tiny", choices=("tiny", "paper"))
    parser.add_argument("--workdir", type=Path, help="keep the generated data here")
    args = parser.parse_args()
    cfg = preset(args.preset, video_pretrained=False)
    tokenizer = build_tokenizer(cfg)

    with tempfile.TemporaryDirectory(prefix="vs-bench-") as scratch:
        root = args.workdir or Path(scratch)
        started = time.perf_counter()
        make_meld_dataset(root / "meld", {"train": args.dialogues}, seed=0)
        generate_s = time.perf_counter() - started
        utterances = load_split(root / "meld", "train").utterances
        started = time.perf_counter()
        build_cache(utterances, root / "cache", cfg, tokenizer, split="train", progress=False)
        cache_s = time.perf_counter() - started

        cached = epoch_throughput(
            CachedDataset(root / "cache"), cfg, args.batch_size, args.num_workers
        )
        decoded = epoch_throughput(
            ClipDataset(utterances, cfg, tokenizer), cfg, args.batch_size, args.num_workers
        )

    print(
        f"{len(utterances)} synthetic clips, preset {args.preset}, batch {args.batch_size}, "
        f"{args.num_workers} loader workers, {torch.get_num_threads()} threads"
    )
    print(f"generating clips {generate_s:.1f} s; building the cache once {cache_s:.1f} s")
    print(f"{'source':24} {'samples/s':>10}")
    print(f"{'feature cache':24} {cached:10.1f}")
    print(f"{'decode mp4 every epoch':24} {decoded:10.1f}")
    print(f"ratio cache / decode: {cached / decoded:.1f}x")


if __name__ == "__main__":
    main()
