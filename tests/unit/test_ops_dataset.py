"""`vsent dataset upload`: the release check, the dry run, and resuming an interrupted upload."""

from __future__ import annotations

import csv
import io
import json
import tarfile
from pathlib import Path

import av
import boto3
import numpy as np
import pytest
import typer
from moto import mock_aws
from typer.testing import CliRunner

from vs_model.meld import CLIP_FOLDERS, CSV_NAMES, MELD_COLUMNS
from vsent.cli import app as vsent_app
from vsent.ops import aws, meld_release


def _write_clip(path: Path) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(4):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 40, np.uint8), "rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def make_release(root: Path) -> Path:
    """Two utterances per split; dev's dia0_utt1 has no clip, train's dia0_utt1 is corrupt."""
    template = root / "template.mp4"
    root.mkdir(parents=True, exist_ok=True)
    _write_clip(template)
    for split, folder in CLIP_FOLDERS.items():
        (root / folder).mkdir()
        with (root / CSV_NAMES[split]).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(MELD_COLUMNS)
            for utt, (emotion, sentiment) in enumerate(
                [("joy", "positive"), ("anger", "negative")]
            ):
                writer.writerow(
                    [
                        utt + 1,
                        f"line {utt}",
                        "Ross",
                        emotion,
                        sentiment,
                        0,
                        utt,
                        1,
                        1,
                        "00:00:01,000",
                        "00:00:02,500",
                    ]
                )
            (root / folder / f"dia0_utt{0}.mp4").write_bytes(template.read_bytes())
    (root / "train_splits" / "dia0_utt1.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"x" * 64)
    (root / "test_splits_dummy.txt").write_text("not part of the release")
    (root / "output_repeated_splits_test" / "dia0_utt1.mp4").write_bytes(template.read_bytes())
    template.unlink()
    return root


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return make_release(tmp_path / "MELD.Raw")


@pytest.fixture
def cli() -> typer.Typer:
    return vsent_app


def test_check_reports_missing_and_unreadable_clips(release: Path) -> None:
    report = meld_release.check_release(release, workers=2)

    assert report.ok
    by_split = {s.split: s for s in report.splits}
    assert by_split["train"].rows == 2 and by_split["train"].clips == 2
    assert by_split["train"].missing == []
    assert list(by_split["train"].unreadable) == ["dia0_utt1"]
    assert by_split["dev"].missing == ["dia0_utt1"]
    assert by_split["dev"].unreadable == {}
    assert by_split["test"].missing == [] and by_split["test"].unreadable == {}
    text = "\n".join(report.lines())
    assert "missing    dev_splits_complete/dia0_utt1.mp4" in text
    assert "unreadable train_splits/dia0_utt1.mp4" in text


def test_clip_problems_are_named(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "text.mp4"
    text.write_bytes(b"hello, this is not a video at all")
    assert meld_release.clip_problem(empty) == "empty file"
    assert meld_release.clip_problem(text) == "not an MP4 file"


def test_missing_split_folder_stops_before_upload(release: Path, cli: typer.Typer) -> None:
    (release / "dev_splits_complete" / "dia0_utt0.mp4").unlink()
    (release / "dev_splits_complete").rmdir()

    result = CliRunner().invoke(
        cli, ["dataset", "upload", str(release), "--bucket", "b", "--dry-run"]
    )

    assert result.exit_code == 1
    assert "no clip folder dev_splits_complete/" in result.output
    assert "nothing uploaded" in result.output


def test_dry_run_prints_every_put(release: Path, cli: typer.Typer) -> None:
    result = CliRunner().invoke(
        cli, ["dataset", "upload", str(release), "--bucket", "b", "--dry-run"]
    )

    assert result.exit_code == 0, result.output
    request = json.loads(result.stdout[result.stdout.index("{") :])
    keys = [put["Key"] for put in request["PutObject"]]
    assert keys == [
        "datasets/meld/train_sent_emo.csv",
        "datasets/meld/dev_sent_emo.csv",
        "datasets/meld/test_sent_emo.csv",
        "datasets/meld/train_splits/dia0_utt0.mp4",
        "datasets/meld/train_splits/dia0_utt1.mp4",
        "datasets/meld/dev_splits_complete/dia0_utt0.mp4",
        "datasets/meld/output_repeated_splits_test/dia0_utt0.mp4",
        "datasets/meld/output_repeated_splits_test/dia0_utt1.mp4",
    ]
    assert request["PutObject"][0]["ContentType"] == "text/csv"
    assert request["PutObject"][3]["ContentType"] == "video/mp4"


@mock_aws
def test_resumed_upload_sends_only_what_is_missing(
    release: Path, cli: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = boto3.Session(region_name="us-east-1")
    s3 = session.client("s3")
    s3.create_bucket(Bucket="data")
    # The interrupted run: the CSVs and one clip arrived; another clip arrived only in part.
    for name in CSV_NAMES.values():
        s3.put_object(
            Bucket="data", Key=f"datasets/meld/{name}", Body=(release / name).read_bytes()
        )
    clip = release / "train_splits" / "dia0_utt0.mp4"
    s3.put_object(
        Bucket="data", Key="datasets/meld/train_splits/dia0_utt0.mp4", Body=clip.read_bytes()
    )
    s3.put_object(Bucket="data", Key="datasets/meld/dev_splits_complete/dia0_utt0.mp4", Body=b"x")
    sent: list[str] = []
    session.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: sent.append(params["Key"])
    )
    monkeypatch.setattr(aws, "client", lambda region, service: session.client(service))

    result = CliRunner().invoke(cli, ["dataset", "upload", str(release), "--bucket", "data"])

    assert result.exit_code == 0, result.output
    assert sorted(sent) == [
        "datasets/meld/dev_splits_complete/dia0_utt0.mp4",
        "datasets/meld/output_repeated_splits_test/dia0_utt0.mp4",
        "datasets/meld/output_repeated_splits_test/dia0_utt1.mp4",
        "datasets/meld/train_splits/dia0_utt1.mp4",
    ]
    assert "4 files" in result.output and "4 already in" in result.output
    stored = s3.get_object(Bucket="data", Key="datasets/meld/dev_splits_complete/dia0_utt0.mp4")
    assert stored["Body"].read() == (release / "dev_splits_complete" / "dia0_utt0.mp4").read_bytes()

    sent.clear()
    again = CliRunner().invoke(cli, ["dataset", "upload", str(release), "--bucket", "data"])
    assert again.exit_code == 0, again.output
    assert sent == []


def _tar_gz(members: dict[str, Path | bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, content in members.items():
            if isinstance(content, Path):
                tar.add(content, arcname=name)
            else:
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return raw.getvalue()


def test_official_archive_layout_is_unpacked(release: Path, tmp_path: Path) -> None:
    """MELD.Raw.tar.gz holds the CSVs and train/dev/test.tar.gz that hold the clip folders."""
    members: dict[str, Path | bytes] = {}
    for split, folder in CLIP_FOLDERS.items():
        members[f"MELD.Raw/{CSV_NAMES[split]}"] = release / CSV_NAMES[split]
        members[f"MELD.Raw/{split}.tar.gz"] = _tar_gz({folder: release / folder})
    archive = tmp_path / "MELD.Raw.tar.gz"
    archive.write_bytes(_tar_gz(members))

    root = meld_release.prepare_source(str(archive), tmp_path / "work")

    assert root == tmp_path / "work" / "unpacked" / "MELD.Raw"
    report = meld_release.check_release(root, decode=False)
    assert report.ok
    assert [s.clips for s in report.splits] == [2, 1, 2]
