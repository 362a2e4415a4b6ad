"""Speech recognition with a tiny random Whisper built offline: chunks, timestamps, endpoint."""

import json
from pathlib import Path

import jsonschema
import pytest
import torch

from vs_model.asr import SpeechRecognizer, pack_chunks, timestamp_segments, write_random_whisper
from vs_model.checkpoint import save_model
from vs_model.media import load_audio
from vs_model.network import MultimodalSentimentModel
from vs_model.predictor import Predictor, PredictorSettings
from vs_model.segmentation import SegmentationOptions, segment
from vs_model.synthetic import SyntheticUtterance, make_speech_video

LINES = [
    SyntheticUtterance("Nice to meet you all", 0.5, 2.5, "joy"),
    SyntheticUtterance("That is so unfair", 4.0, 6.0, "anger"),
]


@pytest.fixture(scope="module")
def whisper_dir(tmp_path_factory) -> Path:
    return write_random_whisper(tmp_path_factory.mktemp("whisper"))


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return make_speech_video(tmp_path_factory.mktemp("asr") / "talk.mp4", LINES, seconds=6.5)


def test_speech_windows_pack_into_chunks_of_at_most_30_s() -> None:
    chunks = pack_chunks([(0.0, 10.0), (12.0, 25.0), (29.0, 35.0), (40.0, 105.0)])
    assert [(c.start_s, c.end_s) for c in chunks] == [
        (0.0, 25.0),
        (29.0, 35.0),
        (40.0, 70.0),
        (70.0, 100.0),
        (100.0, 105.0),
    ]
    assert chunks[0].windows == ((0.0, 10.0), (12.0, 25.0))
    assert pack_chunks([]) == []


def test_timestamp_pairs_delimit_segments() -> None:
    begin, specials = 100, {1, 2}
    tokens = [1, 100, 5, 6, 150, 150, 7, 200, 225, 8, 2]
    assert timestamp_segments(tokens, begin, specials) == [
        (0.0, 1.0, [5, 6]),
        (1.0, 2.0, [7]),
        (2.5, None, [8]),
    ]
    assert timestamp_segments([1, 5, 6, 2], begin, specials) == []


def test_random_whisper_folder_loads_offline(whisper_dir: Path) -> None:
    recognizer = SpeechRecognizer.load(whisper_dir)
    tokenizer = recognizer.processor.tokenizer
    assert recognizer.timestamp_begin == tokenizer.convert_tokens_to_ids("<|0.00|>")
    assert tokenizer.convert_tokens_to_ids("<|30.00|>") == recognizer.timestamp_begin + 1500
    assert tokenizer.decode(tokenizer("héllo wörld")["input_ids"], skip_special_tokens=True) == (
        "héllo wörld"
    )


def test_transcribed_utterances_stay_inside_the_speech(whisper_dir: Path, video: Path) -> None:
    recognizer = SpeechRecognizer.load(whisper_dir)
    audio = load_audio(video, 16000)
    cut = segment(6.5, audio, 16000, recognizer=recognizer)
    assert cut.method == "asr"
    assert cut.utterances
    speech_start, speech_end = 0.2, 6.3
    for utterance in cut.utterances:
        assert speech_start <= utterance.start_s < utterance.end_s <= speech_end
    starts = [u.start_s for u in cut.utterances]
    assert starts == sorted(starts)


def test_asr_is_skipped_when_there_is_no_speech(whisper_dir: Path) -> None:
    recognizer = SpeechRecognizer.load(whisper_dir)
    cut = segment(4.0, torch.zeros(64000), 16000, recognizer=recognizer)
    assert cut.method == "fixed"
    with pytest.raises(ValueError, match="needs an audio track"):
        segment(4.0, torch.zeros(0), 16000, None, recognizer, SegmentationOptions(method="asr"))


def test_endpoint_uses_the_whisper_folder_from_the_environment(
    whisper_dir: Path,
    video: Path,
    tmp_path: Path,
    monkeypatch,
    repo_root: Path,
    tiny_cfg,
    tiny_tokenizer,
) -> None:
    model = MultimodalSentimentModel(tiny_cfg)
    model_dir = save_model(tmp_path / "model", model, tiny_tokenizer, tiny_cfg)
    monkeypatch.setenv("VS_ASR_MODEL", str(whisper_dir))
    monkeypatch.setenv("VS_DEVICE", "cpu")
    settings = PredictorSettings.from_env(model_dir)
    assert settings.asr_model == whisper_dir

    result = Predictor(model_dir, settings).predict(video, job_id="j1").to_dict()

    schema = repo_root / "layers/common/vs_common/schemas/result.schema.json"
    jsonschema.validate(json.loads(json.dumps(result)), json.loads(schema.read_text()))
    assert result["segmentation"] == "asr"
    assert all(0 <= u["start_s"] < u["end_s"] <= 6.5 for u in result["utterances"])


def test_asr_folder_setting(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("VS_ASR_MODEL", raising=False)
    assert PredictorSettings.from_env(tmp_path).asr_model is None
    (tmp_path / "asr").mkdir()
    (tmp_path / "asr" / "config.json").write_text("{}")
    assert PredictorSettings.from_env(tmp_path).asr_model == tmp_path / "asr"
    monkeypatch.setenv("VS_ASR_MODEL", "none")
    assert PredictorSettings.from_env(tmp_path).asr_model is None
    monkeypatch.setenv("VS_ASR_MODEL", "whisper-small")
    assert PredictorSettings.from_env(tmp_path).asr_model == tmp_path / "whisper-small"
