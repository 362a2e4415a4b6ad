"""The synthetic MELD-layout dataset and the signals its clips carry."""

import csv
import re

import numpy as np
import pytest

from vs_model.labels import EMOTIONS
from vs_model.video_probe import probe
from vsent.local.synthetic import (
    MELD_COLUMNS,
    SPEECH_RATE,
    SPLITS,
    TEMPLATES,
    SyntheticUtterance,
    make_meld_dataset,
    make_speech_video,
    speak,
)

MELD_SENTIMENT = {
    "joy": {"positive"},
    "neutral": {"neutral"},
    "anger": {"negative"},
    "disgust": {"negative"},
    "fear": {"negative"},
    "sadness": {"negative"},
    "surprise": {"positive", "negative"},
}
TIMESTAMP = re.compile(r"^\d{2}:\d{2}:\d{2},\d{3}$")


def read_rows(path):
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def seconds(stamp: str) -> float:
    h, m, rest = stamp.split(":")
    s, ms = rest.split(",")
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def test_layout_and_csv_columns(small_meld):
    for csv_name, folder in SPLITS.values():
        columns, rows = read_rows(small_meld / csv_name)
        assert tuple(columns) == MELD_COLUMNS
        assert len(rows) == 4
        assert [int(r["Sr No."]) for r in rows] == [1, 2, 3, 4]
        for row in rows:
            assert row["Emotion"] in EMOTIONS
            assert row["Sentiment"] in MELD_SENTIMENT[row["Emotion"]]
            assert dict(TEMPLATES[row["Emotion"]])[row["Utterance"]] == row["Sentiment"]
            assert TIMESTAMP.match(row["StartTime"]) and TIMESTAMP.match(row["EndTime"])
            assert seconds(row["EndTime"]) > seconds(row["StartTime"])
            clip = small_meld / folder / f"dia{row['Dialogue_ID']}_utt{row['Utterance_ID']}.mp4"
            info = probe(clip)
            assert 1.0 <= info.duration_s <= 2.6
            assert (info.width, info.height, info.has_audio) == (160, 120, True)
        assert len(list((small_meld / folder).glob("dia*_utt*.mp4"))) == len(rows)


def test_generation_is_reproducible(small_meld, tmp_path):
    # Splits draw from one random stream in train, dev, test order: train depends only on seed.
    again = make_meld_dataset(tmp_path, {"train": 2}, seed=0, utterances_per_dialogue=2)
    assert read_rows(again / "train_sent_emo.csv") == read_rows(small_meld / "train_sent_emo.csv")
    assert read_rows(again / "test_sent_emo.csv") == (list(MELD_COLUMNS), [])


def test_emotions_are_balanced(tmp_path):
    root = make_meld_dataset(tmp_path, {"train": 7}, seed=3, utterances_per_dialogue=2)
    _, rows = read_rows(root / "train_sent_emo.csv")
    counts = {e: sum(r["Emotion"] == e for r in rows) for e in EMOTIONS}
    assert set(counts.values()) == {2}


def test_tiny_vocabulary_knows_every_synthetic_word(tiny_tokenizer):
    unk = tiny_tokenizer.unk_token_id
    for templates in TEMPLATES.values():
        for text, _ in templates:
            assert unk not in tiny_tokenizer(text)["input_ids"], text


def dominant_pitch(speech: np.ndarray) -> float:
    """Median autocorrelation pitch (Hz) over the loud 40 ms frames."""
    n = int(0.04 * SPEECH_RATE)
    lo, hi = SPEECH_RATE // 400, SPEECH_RATE // 60
    pitches = []
    for start in range(0, speech.size - n, n):
        frame = speech[start : start + n] - speech[start : start + n].mean()
        if np.sqrt(np.mean(frame**2)) < 0.05:
            continue
        corr = np.correlate(frame, frame, mode="full")[n - 1 :]
        pitches.append(SPEECH_RATE / (lo + int(np.argmax(corr[lo:hi]))))
    return float(np.median(pitches))


def test_voice_carries_the_emotion():
    text = "I read the paper this morning."
    surprise, sadness, anger = (speak(text, e) for e in ("surprise", "sadness", "anger"))
    assert surprise.dtype == np.float32 and 0 < np.abs(surprise).max() <= 1
    assert dominant_pitch(surprise) > 1.3 * dominant_pitch(sadness)
    assert sadness.size > 1.4 * anger.size  # sad speech is slower


def test_speech_video_rejects_bad_utterances(tmp_path):
    with pytest.raises(ValueError, match="unknown emotion 'bored'"):
        make_speech_video(tmp_path / "x.mp4", [SyntheticUtterance("hi", 0, 1, "bored")])
    with pytest.raises(ValueError, match="bad utterance times"):
        make_speech_video(tmp_path / "x.mp4", [SyntheticUtterance("hi", 2, 1, "joy")])
