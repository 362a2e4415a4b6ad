"""Transcript sidecars: SRT, WebVTT and JSON parsed into utterances, and their errors."""

import json

import pytest

from vs_model.transcripts import (
    TranscriptError,
    Utterance,
    find_sidecar,
    load_transcript,
    parse_timestamp,
    parse_transcript,
)

SRT = """\ufeff1
00:00:00,500 --> 00:00:02,250
<i>Hello</i> there,
how are you?

2
00:00:03.000 --> 00:00:04,750
Fine &amp; you?
"""

VTT = """WEBVTT - a talk
Kind: captions

NOTE this block is a comment
spanning two lines

STYLE
::cue { color: yellow }

intro
00:00.500 --> 00:02.250 align:start position:10%
<v Alice>Hello there,</v>
how are you?

00:00:03.000 --> 00:00:04.750
<c.loud>Fine</c> <00:00:03.500>&amp; you?
"""


def test_srt_cues_become_utterances() -> None:
    assert parse_transcript(SRT.replace("\n", "\r\n").encode(), "talk.srt") == [
        Utterance(0.5, 2.25, "Hello there, how are you?"),
        Utterance(3.0, 4.75, "Fine & you?"),
    ]


def test_vtt_skips_notes_styles_and_markup() -> None:
    assert parse_transcript(VTT, "talk.vtt") == [
        Utterance(0.5, 2.25, "Hello there, how are you?"),
        Utterance(3.0, 4.75, "Fine & you?"),
    ]


@pytest.mark.parametrize("wrap", [lambda cues: cues, lambda cues: {"utterances": cues}])
def test_json_list_or_object(wrap) -> None:
    cues = [
        {"start_s": 3, "end_s": 4.75, "text": "Fine  and you?"},
        {"start_s": 0.5, "end_s": 2.25, "text": "Hello"},
    ]
    assert parse_transcript(json.dumps(wrap(cues)), "talk.json") == [
        Utterance(0.5, 2.25, "Hello"),
        Utterance(3.0, 4.75, "Fine and you?"),
    ]


def test_format_is_sniffed_without_a_known_suffix() -> None:
    assert parse_transcript(VTT, "captions.txt")[0].text == "Hello there, how are you?"
    assert parse_transcript(SRT, "")[1].start_s == 3.0
    assert parse_transcript('[{"start_s": 1, "end_s": 2}]', "x")[0] == Utterance(1.0, 2.0, "")


def test_timestamps() -> None:
    assert parse_timestamp("01:02:03,040") == pytest.approx(3723.04)
    assert parse_timestamp("02:03.5") == pytest.approx(123.5)
    with pytest.raises(TranscriptError, match="below 60"):
        parse_timestamp("00:61:00.000")


def test_sidecar_beside_the_video(tmp_path) -> None:
    video = tmp_path / "talk.mp4"
    video.write_bytes(b"")
    assert find_sidecar(video) is None
    (tmp_path / "talk.vtt").write_text(VTT, encoding="utf-8")
    assert find_sidecar(video) == tmp_path / "talk.vtt"
    (tmp_path / "talk.srt").write_text(SRT, encoding="utf-8")
    assert find_sidecar(video) == tmp_path / "talk.srt"
    assert load_transcript(find_sidecar(video))[0].end_s == 2.25


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.srt", "1\n00:00:01,000 -> 00:00:02,000\nhi\n", r"SRT line 2: expected 'start --> end'"),
        ("a.srt", "1\n00:00:05,000 --> 00:00:02,000\nhi\n", "SRT line 2: cue ends"),
        ("a.srt", "\n\n", "SRT: the transcript has no cues"),
        ("a.vtt", "00:01.000 --> 00:02.000\nhi\n", "must start with 'WEBVTT'"),
        ("a.vtt", "WEBVTT\n\ncue-1\n", "cue identifier without a timing line"),
        ("a.json", "{not json", "JSON: not valid JSON"),
        ("a.json", '{"cues": []}', "must have an 'utterances' list"),
        ("a.json", '[{"start_s": 1}]', "JSON utterance 0: missing end_s"),
        ("a.json", '[{"start_s": "1", "end_s": 2}]', "must be numbers of seconds"),
        ("a.json", '[{"start_s": 2, "end_s": 1}]', r"needs 0 <= start_s < end_s"),
        ("a.json", '[{"start_s": 0, "end_s": 1, "text": 5}]', "text must be a string"),
        ("a.json", "[]", "JSON: the transcript has no cues"),
        ("notes.txt", "just some words", "is not a transcript"),
    ],
)
def test_malformed_files_say_what_is_wrong(name: str, content: str, message: str) -> None:
    with pytest.raises(TranscriptError, match=message):
        parse_transcript(content, name)


def test_binary_file_is_rejected() -> None:
    with pytest.raises(TranscriptError, match="is not UTF-8 text"):
        parse_transcript(b"\xff\xfe\x00\x81garbage", "a.srt")
