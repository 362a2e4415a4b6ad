"""model.tar.gz: the PyTorch inference container's layout, built reproducibly."""

import hashlib
import tarfile
from pathlib import Path

import pytest

from vs_model.asr import WHISPER_BASE_FILES, installed_whisper_base
from vs_model.checkpoint import save_model
from vs_model.network import MultimodalSentimentModel
from vs_model.packaging import (
    FIXED_MTIME,
    PackagingError,
    build_package,
    main,
    package_entries,
    resolve_asr_model,
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_cfg, tiny_tokenizer) -> Path:
    folder = tmp_path_factory.mktemp("trained")
    save_model(folder, MultimodalSentimentModel(tiny_cfg), tiny_tokenizer, tiny_cfg)
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "junk.pyc").write_bytes(b"\0")
    return folder


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_layout_of_the_package(model_dir: Path, tmp_path: Path, repo_root: Path) -> None:
    out = tmp_path / "model.tar.gz"
    build_package(model_dir, out, with_asr=False)
    with tarfile.open(out) as tar:
        members = {m.name: m for m in tar.getmembers()}
    names = set(members)
    assert {"model.pt", "config.json", "code/inference.py", "code/requirements.txt"} <= names
    assert {"code/vs_model/predictor.py", "code/vs_model/network.py"} <= names
    assert any(name.startswith("tokenizer/") for name in names)
    assert any(name.startswith("text_encoder/") for name in names)
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    sources = sorted(p.name for p in (repo_root / "model/vs_model").glob("*.py"))
    assert sorted(n.split("/")[-1] for n in names if n.startswith("code/vs_model/")) == sources
    assert all(m.mtime == FIXED_MTIME and m.uid == 0 and m.gid == 0 for m in members.values())
    assert all(m.mode in (0o644, 0o755) for m in members.values())
    assert list(members) == sorted(members, key=lambda n: (members[n].isfile(), n))


def test_same_input_gives_the_same_bytes(model_dir: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "model.tar.gz", tmp_path / "b" / "model.tar.gz"
    digest = build_package(model_dir, first, with_asr=False)
    (model_dir / "model.pt").touch()  # a newer mtime must not change the package
    assert (
        build_package(model_dir, second, with_asr=False)
        == digest
        == sha256(first)
        == sha256(second)
    )


def test_training_model_tar_gz_gives_the_same_package(model_dir: Path, tmp_path: Path) -> None:
    training_output = tmp_path / "output" / "model.tar.gz"
    training_output.parent.mkdir()
    with tarfile.open(training_output, "w:gz") as tar:
        for path in sorted(model_dir.rglob("*")):
            tar.add(path, arcname=path.relative_to(model_dir).as_posix(), recursive=False)
    assert build_package(training_output, tmp_path / "x.tar.gz", with_asr=False) == build_package(
        model_dir, tmp_path / "y.tar.gz", with_asr=False
    )


def test_installed_whisper_base_ships_as_asr_by_default(model_dir: Path, tmp_path: Path) -> None:
    whisper = installed_whisper_base()
    assert whisper is not None
    assert resolve_asr_model(None) == whisper
    assert resolve_asr_model(None, with_asr=False) is None
    entries = dict(package_entries(model_dir, asr_model=whisper))
    assert {name for name in entries if name.startswith("asr/")} == {
        f"asr/{name}" for name in WHISPER_BASE_FILES
    }
    assert entries["asr/model.bin"] == whisper / "model.bin"


def test_a_whisper_folder_off_the_release_is_refused(model_dir: Path, tmp_path: Path) -> None:
    whisper = tmp_path / "whisper"
    whisper.mkdir()
    for name in WHISPER_BASE_FILES:
        (whisper / name).write_text("not the release")
    with pytest.raises(PackagingError, match=r"model\.bin has 15 bytes, the release has 145217532"):
        build_package(model_dir, tmp_path / "model.tar.gz", asr_model=whisper)
    assert not (tmp_path / "model.tar.gz").exists()


def test_command_line(model_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "model.tar.gz"
    main([str(model_dir), "--out", str(out), "--no-asr"])
    assert f"sha256 {sha256(out)}  asr: none" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "nothing-here"), "--out", str(tmp_path / "bad.tar.gz")])
    assert stop.value.code == 2
    assert "neither a model folder nor a model.tar.gz" in capsys.readouterr().err
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    with pytest.raises(SystemExit):
        main([str(not_a_model)])
    assert "not a model folder" in capsys.readouterr().err
    assert not (tmp_path / "bad.tar.gz").exists()
