"""The feature cache: parallel build, skipped clips counted, resume, and the dataset reading it."""

import shutil
from pathlib import Path

import pytest
import torch

from vs_model.cache_build import build_cache
from vs_model.cache_format import INDEX_FILE, CacheError, cache_parts, is_cache
from vs_model.cache_read import CachedDataset, open_cache
from vs_model.config import preset
from vs_model.distributed import single_process
from vs_model.meld import load_split
from vs_model.text import build_tokenizer
from vs_model.training_data import dataset_labels, open_channel
from vs_model.training_options import parse_options


@pytest.fixture
def damaged_dev(synthetic_meld: Path, tmp_path: Path) -> Path:
    """The dev split with one clip truncated (corrupt) and one deleted (missing)."""
    root = tmp_path / "meld"
    root.mkdir()
    shutil.copy(synthetic_meld / "dev_sent_emo.csv", root)
    shutil.copytree(synthetic_meld / "dev_splits_complete", root / "dev_splits_complete")
    clips = root / "dev_splits_complete"
    (clips / "dia1_utt1.mp4").write_bytes((clips / "dia1_utt1.mp4").read_bytes()[:4000])
    (clips / "dia2_utt0.mp4").unlink()
    return root


def test_build_skips_damaged_clips_resumes_and_reads(damaged_dev: Path, tmp_path: Path) -> None:
    cfg = preset("tiny")
    tokenizer = build_tokenizer(cfg)
    split = load_split(damaged_dev, "dev")
    assert split.skipped == {"missing": ["dia2_utt0"]}
    folder = tmp_path / "cache"
    options = {"split": "dev", "shard_size": 4, "skipped": split.skipped, "progress": False}

    first = build_cache(split.utterances, folder, cfg, tokenizer, workers=2, **options)
    total = len(split.utterances) + 1
    assert first.skipped_counts == {"missing": 1, "corrupt": 1}
    assert first.items == total - 2
    assert first.shards == -(-(total - 1) // 4)
    assert first.reused_shards == 0
    assert is_cache(folder)

    shard_times = {p: p.stat().st_mtime_ns for p in folder.glob("shard-*.pt")}
    again = build_cache(split.utterances, folder, cfg, tokenizer, workers=0, **options)
    assert again.reused_shards == again.shards
    assert {p: p.stat().st_mtime_ns for p in folder.glob("shard-*.pt")} == shard_times

    # An interrupted build left shard 1 unfinished: only that one is decoded again.
    (folder / "shard-00001.json").unlink()
    resumed = build_cache(split.utterances, folder, cfg, tokenizer, workers=0, **options)
    assert resumed.reused_shards == resumed.shards - 1
    assert resumed.items == first.items

    dataset = CachedDataset(folder)
    assert len(dataset) == first.items
    assert dataset.index["skipped_counts"] == {"missing": 1, "corrupt": 1}
    assert "dia1_utt1" not in dataset.ids
    by_key = {u.key: u for u in split.utterances}
    for position in (0, len(dataset) - 1):
        item = dataset[position]
        utterance = by_key[item["id"]]
        assert item["frames"].dtype == torch.uint8
        assert item["frames"].shape == (cfg.video_frames, 3, cfg.frame_size, cfg.frame_size)
        assert item["mel"].dtype == torch.float32
        assert item["mel"].shape == (cfg.n_mels, cfg.mel_frames)
        assert item["input_ids"].dtype == torch.int64
        assert item["input_ids"].shape == (cfg.text_max_length,)
        assert item["attention_mask"].sum() > 2
        assert int(item["emotion"]) == utterance.emotion_index
        assert int(item["sentiment"]) == utterance.sentiment_index
    counts = dataset.index["label_counts"]["emotion"]
    assert sum(counts.values()) == len(dataset)
    assert torch.bincount(dataset.labels("emotion"), minlength=7).tolist() == list(counts.values())


def test_other_features_rebuild_and_are_refused(synthetic_meld: Path, tmp_path: Path) -> None:
    tiny = preset("tiny")
    tokenizer = build_tokenizer(tiny)
    utterances = load_split(synthetic_meld, "test").utterances[:3]
    folder = tmp_path / "cache"
    build_cache(utterances, folder, tiny, tokenizer, split="test", workers=0, progress=False)
    dataset = CachedDataset(folder)
    dataset.check_compatible(tiny)
    smaller = tiny.replace(frame_size=32)
    with pytest.raises(CacheError, match="frame_size: cache 64, model 32"):
        dataset.check_compatible(smaller)
    rebuilt = build_cache(
        utterances, folder, smaller, tokenizer, split="test", workers=0, progress=False
    )
    assert rebuilt.reused_shards == 0
    assert CachedDataset(folder)[0]["frames"].shape[-1] == 32


def test_not_a_cache(tmp_path: Path) -> None:
    with pytest.raises(CacheError, match="is not a feature cache"):
        CachedDataset(tmp_path)
    (tmp_path / "train_splits").mkdir()
    assert not is_cache(tmp_path)
    with pytest.raises(CacheError, match="is not a feature cache"):
        open_cache(tmp_path)


def _build_part(channel: Path, index: int, utterances, cfg, tokenizer, **options) -> None:
    """Part ``index`` of two, in the folder a processing instance writes it to."""
    folder = channel / f"part-{index:03d}-of-002"
    build_cache(
        utterances, folder, cfg, tokenizer, split="test", workers=0, progress=False, **options
    )


def test_parts_of_a_sharded_build_read_as_one_cache(synthetic_meld: Path, tmp_path: Path) -> None:
    cfg = preset("tiny")
    tokenizer = build_tokenizer(cfg)
    utterances = load_split(synthetic_meld, "test").utterances[:6]
    channel = tmp_path / "test"
    # What two processing instances write: one part folder each, no index.json at the top.
    for index, chunk in enumerate((utterances[:4], utterances[4:])):
        _build_part(channel, index, chunk, cfg, tokenizer, shard_size=3)
    assert not (channel / INDEX_FILE).exists()
    assert is_cache(channel)
    assert [p.name for p in cache_parts(channel)] == ["part-000-of-002", "part-001-of-002"]

    options = parse_options(
        ["--preset", "tiny", "--data-root", str(channel), "--work-dir", str(tmp_path / "run")]
    )
    single = single_process(torch.device("cpu"))
    dataset = open_channel(channel, "test", cfg, tokenizer, options, single)
    assert len(dataset) == 4 + 2
    assert dataset.ids == [u.key for u in utterances]
    assert dataset_labels(dataset, "emotion").tolist() == [u.emotion_index for u in utterances]
    assert dataset_labels(dataset, "sentiment").tolist() == [u.sentiment_index for u in utterances]
    assert dataset[4]["id"] == utterances[4].key
    assert dataset[5]["frames"].shape == (cfg.video_frames, 3, cfg.frame_size, cfg.frame_size)
    # Every part is checked against the model, as a single cache is.
    with pytest.raises(CacheError, match="frame_size: cache 64, model 32"):
        open_channel(channel, "test", cfg.replace(frame_size=32), tokenizer, options, single)

    # A part whose build has not finished must not be left out silently.
    (channel / "part-001-of-002" / INDEX_FILE).unlink()
    with pytest.raises(CacheError, match="unfinished cache parts part-001-of-002"):
        open_cache(channel)


def test_parts_built_for_other_features_are_refused(synthetic_meld: Path, tmp_path: Path) -> None:
    tiny = preset("tiny")
    tokenizer = build_tokenizer(tiny)
    utterances = load_split(synthetic_meld, "test").utterances[:2]
    channel = tmp_path / "test"
    for index, cfg in enumerate((tiny, tiny.replace(frame_size=32))):
        _build_part(channel, index, utterances[index : index + 1], cfg, tokenizer)
    with pytest.raises(CacheError, match="differ in features"):
        open_cache(channel)
