"""model.tar.gz: the PyTorch inference container's layout, built reproducibly."""

import hashlib
import tarfile
from pathlib import Path

import pytest

from vs_model.asr import write_random_whisper
from vs_model.checkpoint import save_model
from vs_model.network import MultimodalSentimentModel
from vs_model.packaging import FIXED_MTIME, build_package, main


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
    build_package(model_dir, out)
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
    digest = build_package(model_dir, first)
    (model_dir / "model.pt").touch()  # a newer mtime must not change the package
    assert build_package(model_dir, second) == digest == sha256(first) == sha256(second)


def test_training_model_tar_gz_gives_the_same_package(model_dir: Path, tmp_path: Path) -> None:
    training_output = tmp_path / "output" / "model.tar.gz"
    training_output.parent.mkdir()
    with tarfile.open(training_output, "w:gz") as tar:
        for path in sorted(model_dir.rglob("*")):
            tar.add(path, arcname=path.relative_to(model_dir).as_posix(), recursive=False)
    assert build_package(training_output, tmp_path / "x.tar.gz") == build_package(
        model_dir, tmp_path / "y.tar.gz"
    )


def test_whisper_folder_ships_as_asr(model_dir: Path, tmp_path: Path) -> None:
    whisper = write_random_whisper(tmp_path / "whisper")
    out = tmp_path / "model.tar.gz"
    build_package(model_dir, out, asr_model=whisper)
    with tarfile.open(out) as tar:
        assert "asr/config.json" in tar.getnames()
        assert "asr/generation_config.json" in tar.getnames()


def test_command_line(model_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "model.tar.gz"
    main([str(model_dir), "--out", str(out)])
    assert f"sha256 {sha256(out)}" in capsys.readouterr().out
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
