"""The MELD reader against every quirk of the published CSVs, on small hand-written files."""

from pathlib import Path

import pytest

from vs_model.meld import (
    MeldFormatError,
    find_csv,
    load_split,
    parse_timestamp,
    read_csv,
    repair_text,
)

HEADER = (
    "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,"
    "StartTime,EndTime\n"
)


def _write(path: Path, rows: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes((HEADER + "".join(r + "\n" for r in rows)).encode(encoding))
    return path


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("00:20:57,256", 1257.256),
        ("00:20:57.256", 1257.256),
        ("0:14:22,843", 862.843),
        ("00:06:47,28", 407.28),
        ("1:02:03", 3723.0),
        ("02:03.5", 123.5),
    ],
)
def test_timestamps_in_every_format(text: str, seconds: float) -> None:
    assert parse_timestamp(text) == pytest.approx(seconds)


def test_bad_timestamp_is_a_clear_error() -> None:
    with pytest.raises(MeldFormatError, match="not a timestamp"):
        parse_timestamp("yesterday")


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        ("He\x92s lost it", "He’s lost it"),
        ("itâ€™s fine â€¦ okay", "it’s fine … okay"),
        ("â€œquoteâ€\x9d", "“quote”"),
        ("cafÃ© \x93hi\x94", "café “hi”"),
        ("already “clean” — it’s fine", "already “clean” — it’s fine"),
        ("  spaced\n out ", "spaced out"),
    ],
)
def test_mojibake_is_repaired(broken: str, fixed: str) -> None:
    assert repair_text(broken) == fixed


def test_reader_handles_quirks(tmp_path: Path) -> None:
    csv_path = _write(
        tmp_path / "train_sent_emo.csv",
        [
            '1,"Oh my God, he\x92s lost it.",Phoebe,sadness,negative,0,0,4,7,'
            '"00:20:57,256","00:21:00,049"',
            "1,What?,Monica,Surprise,negative,0,1,4,7,00:21:01.927,00:21:03.261",
            '2,You\u00e2\u20ac\u2122re great!,Chandler,joy,positive,1,0,4,4,"0:12:32,334",'
            '"00:12:33,96"',
            "3,What?,Monica,surprise,negative,0,1,4,7,00:21:01.927,00:21:03.261",
        ],
    )
    rows, duplicates = read_csv(csv_path, "train")
    assert [r.key for r in rows] == ["dia0_utt0", "dia0_utt1", "dia1_utt0"]
    assert duplicates == ["dia0_utt1"]
    assert rows[0].text == "Oh my God, he’s lost it."
    assert rows[2].text == "You’re great!"
    assert rows[1].emotion == "surprise"
    assert (rows[1].start_s, rows[1].end_s) == (1261.927, 1263.261)
    assert rows[2].end_s == pytest.approx(753.96)
    assert rows[2].emotion_index == 3
    assert rows[2].sentiment_index == 2


def test_cp1252_bytes_in_a_utf8_file(tmp_path: Path) -> None:
    csv_path = _write(
        tmp_path / "dev_sent_emo.csv",
        ["1,It’s me,Ross,neutral,neutral,0,0,1,1,00:00:01.000,00:00:02.000"],
        encoding="cp1252",
    )
    rows, _ = read_csv(csv_path, "dev")
    assert rows[0].text == "It’s me"


def test_unknown_label_names_the_line(tmp_path: Path) -> None:
    csv_path = _write(
        tmp_path / "train_sent_emo.csv",
        [
            "1,Hi,Ross,neutral,neutral,0,0,1,1,00:00:01.000,00:00:02.000",
            "2,Hi,Ross,bored,neutral,0,1,1,1,00:00:01.000,00:00:02.000",
        ],
    )
    with pytest.raises(MeldFormatError, match=r"line 3: unknown emotion 'bored'"):
        read_csv(csv_path, "train")


def test_not_a_meld_csv(tmp_path: Path) -> None:
    path = tmp_path / "train_sent_emo.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(MeldFormatError, match="missing columns"):
        read_csv(path, "train")


def test_missing_and_known_bad_clips_are_skipped_and_counted(tmp_path: Path) -> None:
    _write(
        tmp_path / "train_sent_emo.csv",
        [
            f"{i},Line {i},Ross,neutral,neutral,{d},{u},1,1,00:00:01.000,00:00:02.000"
            for i, (d, u) in enumerate([(0, 0), (0, 1), (125, 3), (2, 0)])
        ],
    )
    clips = tmp_path / "train_splits"
    clips.mkdir()
    for key in ("dia0_utt0", "dia0_utt1", "dia125_utt3"):
        (clips / f"{key}.mp4").write_bytes(b"")
    split = load_split(tmp_path, "train")
    assert [u.key for u in split.utterances] == ["dia0_utt0", "dia0_utt1"]
    assert split.utterances[0].clip == clips / "dia0_utt0.mp4"
    assert split.skipped == {"corrupt": ["dia125_utt3"], "missing": ["dia2_utt0"]}
    assert split.skipped_counts == {"corrupt": 1, "missing": 1}


def test_dev_known_missing_clip(tmp_path: Path) -> None:
    _write(
        tmp_path / "dev_sent_emo.csv",
        ["1,Hi,Ross,joy,positive,110,7,1,1,00:00:01.000,00:00:02.000"],
    )
    (tmp_path / "dev_splits_complete").mkdir()
    split = load_split(tmp_path, "dev")
    assert split.utterances == []
    assert split.skipped_counts == {"missing": 1}


def test_text_only_reading_needs_no_clips(tmp_path: Path) -> None:
    _write(
        tmp_path / "dev_sent_emo.csv",
        ["1,Hi,Ross,joy,positive,0,0,1,1,00:00:01.000,00:00:02.000"],
    )
    with pytest.raises(MeldFormatError, match="no clip folder dev_splits_complete"):
        load_split(tmp_path, "dev")
    split = load_split(tmp_path, "dev", require_clips=False)
    assert [(u.key, u.clip) for u in split.utterances] == [("dia0_utt0", None)]


def test_a_channel_with_one_csv_under_another_name(tmp_path: Path) -> None:
    only = _write(
        tmp_path / "dev_sent_emo.csv",
        ["1,Hi,Ross,joy,positive,0,0,1,1,00:00:01.000,00:00:02.000"],
    )
    assert find_csv(tmp_path, "test") == only
    (tmp_path / "train_sent_emo.csv").write_bytes(only.read_bytes())
    with pytest.raises(MeldFormatError, match=r"no test_sent_emo\.csv"):
        find_csv(tmp_path, "test")
