"""Decoding clips per item, and the collate function shared by every loader."""

import shutil
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from vs_model.cache_build import build_cache
from vs_model.cache_read import CachedDataset
from vs_model.config import preset
from vs_model.datasets import ClipDataset, batch_size_of, collate_items
from vs_model.meld import load_split
from vs_model.text import build_tokenizer


def test_clip_items_match_cached_items(synthetic_meld: Path, tmp_path: Path) -> None:
    cfg = preset("tiny")
    tokenizer = build_tokenizer(cfg)
    utterances = load_split(synthetic_meld, "test").utterances[:4]
    clips = ClipDataset(utterances, cfg, tokenizer)
    build_cache(utterances, tmp_path, cfg, tokenizer, split="test", workers=0, progress=False)
    cached = CachedDataset(tmp_path)
    assert len(clips) == len(cached) == 4
    for index in range(4):
        decoded, stored = clips[index], cached[index]
        assert decoded["id"] == stored["id"] == utterances[index].key
        assert decoded.keys() == stored.keys()
        for key in ("input_ids", "attention_mask", "frames", "emotion", "sentiment"):
            assert decoded[key].dtype == stored[key].dtype
            assert torch.equal(decoded[key], stored[key]), key
        # The cache keeps log-mel in float16.
        assert decoded["mel"].dtype == stored["mel"].dtype == torch.float32
        torch.testing.assert_close(decoded["mel"], stored["mel"], atol=0.05, rtol=1e-3)


def test_corrupt_clip_is_dropped_from_the_batch(synthetic_meld: Path, tmp_path: Path) -> None:
    cfg = preset("tiny")
    utterances = load_split(synthetic_meld, "dev").utterances[:3]
    broken = tmp_path / "broken.mp4"
    shutil.copy(utterances[1].clip, broken)
    broken.write_bytes(broken.read_bytes()[:3000])
    utterances[1] = type(utterances[1])(**{**utterances[1].__dict__, "clip": broken})
    dataset = ClipDataset(utterances, cfg, build_tokenizer(cfg))
    batch = next(iter(DataLoader(dataset, batch_size=3, collate_fn=collate_items)))
    assert batch["ids"] == [utterances[0].key, utterances[2].key]
    assert batch_size_of(batch) == 2
    assert batch["frames"].shape == (2, cfg.video_frames, 3, cfg.frame_size, cfg.frame_size)
    assert batch["mel"].shape == (2, cfg.n_mels, cfg.mel_frames)
    assert batch["emotion"].tolist() == [utterances[0].emotion_index, utterances[2].emotion_index]
    assert dataset.failed == [utterances[1].key]
    assert collate_items([None]) == {"ids": []}


def test_utterances_need_clips(synthetic_meld: Path) -> None:
    cfg = preset("tiny")
    text_only = load_split(synthetic_meld, "dev", require_clips=False).utterances
    no_clip = type(text_only[0])(**{**text_only[0].__dict__, "clip": None})
    with pytest.raises(ValueError, match="without a clip path: dia0_utt0"):
        ClipDataset([no_clip], cfg, build_tokenizer(cfg))
