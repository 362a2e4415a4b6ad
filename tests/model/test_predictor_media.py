"""What the predictor reports for videos that are cut short or whose sound outlasts the picture."""

from pathlib import Path

import pytest
from media_files import cut_in_half, remux

from vs_model.checkpoint import save_model
from vs_model.network import MultimodalSentimentModel
from vs_model.predictor import Predictor, PredictorSettings


@pytest.fixture(scope="module")
def predictor(tmp_path_factory, tiny_cfg, tiny_tokenizer) -> Predictor:
    folder = tmp_path_factory.mktemp("model")
    save_model(folder, MultimodalSentimentModel(tiny_cfg), tiny_tokenizer, tiny_cfg)
    return Predictor(folder, PredictorSettings(device="cpu"))


def test_a_truncated_upload_is_scored_as_far_as_it_reads(predictor, speech_video, tmp_path):
    result = predictor.predict(cut_in_half(speech_video.path, tmp_path / "half.mp4")).to_dict()
    duration = result["video"]["duration_s"]
    assert duration < 6.5
    assert "warnings" not in result["video"]
    assert any(w.startswith("the video file looks truncated") for w in result["warnings"])
    assert result["utterances"]
    assert all(u["end_s"] <= duration for u in result["utterances"])


def test_speech_past_the_picture_stays_inside_the_duration(predictor, speech_video, tmp_path: Path):
    path = remux(speech_video.path, tmp_path / "short-picture.mp4", keep_video_until=2.0)
    result = predictor.predict(path).to_dict()
    duration = result["video"]["duration_s"]
    assert duration == pytest.approx(8.0, abs=0.1)
    ends = [u["end_s"] for u in result["utterances"]]
    assert max(ends) > 5.5  # the last line, spoken over the frozen last frame, is scored
    assert max(ends) <= duration
    assert any(w.startswith("the sound runs 6.0 s past") for w in result["warnings"])
