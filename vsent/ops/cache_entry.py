"""Entry point of the feature-cache Processing job; runs inside the container, not in ``vsent``.

SageMaker hands each instance a share of the clips (ShardedByS3Key) and every instance all three
CSVs. Each instance caches the utterances whose clips it received into its own part folder,
``{output}/{split}/part-{index:03d}-of-{count:03d}/``, so instances never write the same file.
With one instance the cache of a split is written straight to ``{output}/{split}/``.

Only ``vs_model`` (from the job's sourcedir) and the standard library are imported here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

RESOURCE_CONFIG = Path("/opt/ml/config/resourceconfig.json")


def host_position(resource_config: Path = RESOURCE_CONFIG) -> tuple[int, int]:
    """This instance's index and the instance count, from SageMaker's resource configuration."""
    if not resource_config.is_file():
        return 0, 1
    config = json.loads(resource_config.read_text(encoding="utf-8"))
    hosts = sorted(config["hosts"])
    return hosts.index(config["current_host"]), len(hosts)


def part_folder(output: Path, split: str, index: int, count: int) -> Path:
    """Where this instance writes the cache of ``split``."""
    if count == 1:
        return output / split
    return output / split / f"part-{index:03d}-of-{count:03d}"


def assemble_release(csv_dir: Path, clips_dir: Path, into: Path) -> Path:
    """A MELD-layout folder of links to the CSVs in ``csv_dir`` and the clip folders.

    The CSVs and the clips arrive as separate inputs because only the clips are sharded.
    """
    from vs_model.meld import CLIP_FOLDERS

    into.mkdir(parents=True, exist_ok=True)
    for csv_path in sorted(csv_dir.rglob("*_sent_emo.csv")):
        link = into / csv_path.name
        if not link.exists():
            link.symlink_to(csv_path)
    for folder in CLIP_FOLDERS.values():
        target = clips_dir / folder
        target.mkdir(parents=True, exist_ok=True)
        link = into / folder
        if not link.exists():
            link.symlink_to(target, target_is_directory=True)
    return into


def main(argv: list[str] | None = None) -> None:
    """Build this instance's part of the feature cache for every split."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv-dir", type=Path, required=True)
    parser.add_argument("--clips-dir", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--text-model", default=None)
    parser.add_argument("--splits", default="train,dev,test")
    parser.add_argument("--shard-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    from vs_model.cache_build import build_cache
    from vs_model.config import preset
    from vs_model.meld import load_split
    from vs_model.text import build_tokenizer

    overrides = {"text_model": args.text_model} if args.text_model else {}
    cfg = preset(args.preset, **overrides)
    tokenizer = build_tokenizer(cfg)
    index, count = host_position()
    scratch = Path("/tmp/meld-release")
    shutil.rmtree(scratch, ignore_errors=True)
    release = assemble_release(args.csv_dir, args.clips_dir, scratch)
    for split in args.splits.split(","):
        loaded = load_split(release, split)
        # With sharded inputs "missing" mostly means "on another instance": the upload's
        # release check is the record of clips missing from MELD itself.
        skipped = {k: v for k, v in loaded.skipped.items() if count == 1 or k != "missing"}
        folder = part_folder(args.output, split, index, count)
        summary = build_cache(
            loaded.utterances,
            folder,
            cfg,
            tokenizer,
            split=split,
            shard_size=args.shard_size,
            workers=args.workers,
            skipped=skipped,
        )
        print(
            f"[cache] split={split} part={index + 1}/{count} items={summary.items} "
            f"shards={summary.shards} skipped={json.dumps(summary.skipped_counts)} -> {folder}",
            flush=True,
        )


if __name__ == "__main__":
    main()
