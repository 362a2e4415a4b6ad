"""Model configuration presets and their (de)serialisation."""

import json

import pytest

from vs_model.config import TINY_TEXT_MODEL, ModelConfig, preset
from vs_model.encoder_packages import MINILM_PACKAGE


def test_paper_preset_matches_the_aws_model():
    cfg = preset("paper")
    assert cfg.text_model == "bert-base-uncased"
    assert (cfg.video_encoder, cfg.video_pretrained) == ("r3d_18", True)
    assert (cfg.video_frames, cfg.frame_size, cfg.sample_rate) == (16, 112, 16000)
    assert cfg.n_mels == 64
    assert cfg.modalities == ("text", "video", "audio")
    assert cfg.text_train_layers is None  # the whole encoder is fine-tuned


def test_text_preset_is_minilm_alone():
    cfg = preset("text")
    assert cfg.text_only and cfg.text_model == MINILM_PACKAGE
    assert (cfg.text_pooling, cfg.text_max_length, cfg.text_train_layers) == ("mean", 64, None)
    assert cfg.dialogue_context and cfg.head == "linear"


def test_tiny_preset_is_small_and_offline():
    cfg = preset("tiny")
    assert cfg.text_model == TINY_TEXT_MODEL
    assert cfg.video_encoder == "small3d" and not cfg.video_pretrained
    assert cfg.video_frames <= 4 and cfg.frame_size <= 112
    assert cfg.audio_samples == round(cfg.audio_seconds * cfg.sample_rate)


def test_dict_round_trip_through_json():
    cfg = preset("tiny", dropout=0.2, freeze_text=True)
    again = ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert isinstance(again.audio_channels, tuple)


def test_overrides_are_validated():
    with pytest.raises(ValueError, match="video_encoder"):
        preset("tiny", video_encoder="resnet")
    with pytest.raises(ValueError, match="dropout"):
        preset("paper").replace(dropout=1.5)
    with pytest.raises(ValueError, match="head must be 'mlp' or 'linear'"):
        preset("text", head="deep")


def test_unknown_keys_and_presets_are_errors():
    with pytest.raises(ValueError, match="unknown model configuration keys: colour"):
        ModelConfig.from_dict({"colour": "red"})
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        preset("huge")
