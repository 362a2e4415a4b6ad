"""Build the endpoint's model.tar.gz from a training output, byte-for-byte reproducibly.

Layout expected by the SageMaker PyTorch inference container::

    model.pt  config.json  tokenizer/…  text_encoder/…       the model folder, at the root
    asr/model.bin  asr/config.json  asr/tokenizer.json  asr/vocabulary.txt   Whisper base
    code/inference.py  code/requirements.txt  code/vs_model/*.py    the code that serves it

A model folder whose encoder was trained with LoRA (adapter.pt next to a pip-installed base) is
packaged with the updates merged into full weights, so the endpoint needs neither the base
package nor peft.

Whisper base (CTranslate2) ships inside the package so the endpoint never downloads a model: by
default the copy built from the pip packages (see ``vs_model.asr``), or a folder given with
``--asr-model``; either must match the official release's checksums. ``--no-asr`` leaves it out.

Entries are sorted, with fixed owner, permissions and timestamps, and the gzip header carries no
time or name: the same inputs give the same bytes, so a rebuilt package has the same checksum.

    python -m vs_model.packaging TRAINING_OUTPUT --out model.tar.gz [--asr-model FOLDER | --no-asr]
"""

from __future__ import annotations

import argparse
import gzip
import os
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vs_model.asr import WHISPER_BASE_FILES, AsrError, installed_whisper_base, verify_whisper_folder
from vs_model.checkpoint import (
    ADAPTER_FILE,
    load_model,
    model_folder,
    read_config,
    save_model,
)
from vs_model.predictor import ASR_SUBFOLDER
from vs_model.releases import file_sha256

MODEL_ROOT = Path(__file__).resolve().parent.parent
FIXED_MTIME = 1_577_836_800  # 2020-01-01T00:00:00Z; zero upsets some extractors.
SKIPPED = {"__pycache__", ".DS_Store", ".ipynb_checkpoints"}


class PackagingError(ValueError):
    """The training output or the code cannot be packaged."""


def _files(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not SKIPPED.intersection(relative.parts) and path.suffix != ".pyc":
            yield f"{prefix}{relative.as_posix()}", path


def package_entries(
    model_dir: Path, code_root: Path = MODEL_ROOT, asr_model: Path | None = None
) -> list[tuple[str, Path]]:
    """(archive name, source file) for everything the package holds, sorted by name."""
    read_config(model_dir)  # refuses anything that is not a model folder, with the reason
    entries = dict(_files(model_dir, ""))
    if asr_model is not None:
        try:
            verify_whisper_folder(asr_model)
        except AsrError as exc:
            raise PackagingError(str(exc)) from exc
        entries.update({f"{ASR_SUBFOLDER}/{name}": asr_model / name for name in WHISPER_BASE_FILES})
    for needed in ("inference.py", "requirements.txt"):
        if not (code_root / needed).is_file():
            raise PackagingError(f"{code_root / needed} is missing")
        entries[f"code/{needed}"] = code_root / needed
    entries.update(_files(code_root / "vs_model", "code/vs_model/"))
    return sorted(entries.items())


def _directories(names: list[str]) -> list[str]:
    folders = {str(parent) for name in names for parent in Path(name).parents if str(parent) != "."}
    return sorted(folders)


def _info(name: str, *, folder: bool = False, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if folder else tarfile.REGTYPE
    info.mode = 0o755 if folder else 0o644
    info.size = size
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_package(entries: list[tuple[str, Path]], out: Path) -> str:
    """Write the archive atomically; returns its sha256."""
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(dir=out.parent, prefix=".model-")
    try:
        with (
            os.fdopen(descriptor, "wb") as handle,
            gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0, compresslevel=6) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar,
        ):
            for folder in _directories([name for name, _ in entries]):
                tar.addfile(_info(folder, folder=True))
            for name, source in entries:
                with source.open("rb") as data:
                    tar.addfile(_info(name, size=source.stat().st_size), data)
        os.replace(partial, out)
    except BaseException:
        os.unlink(partial)
        raise
    return file_sha256(out)


def resolve_asr_model(asr_model: str | Path | None, with_asr: bool = True) -> Path | None:
    """The Whisper base folder to ship: ``asr_model`` if given, else the pip-installed one (None
    when it is not installed), and None when ``with_asr`` is off."""
    if not with_asr:
        return None
    if asr_model is not None:
        return Path(asr_model)
    try:
        return installed_whisper_base()
    except AsrError as exc:
        raise PackagingError(str(exc)) from exc


def build_package(
    training_output: str | Path,
    out: str | Path,
    asr_model: str | Path | None = None,
    with_asr: bool = True,
) -> str:
    """Package a training output (a model folder, or the model.tar.gz training wrote); sha256.

    Whisper base ships as ``asr/`` as :func:`resolve_asr_model` says.
    """
    source = Path(training_output)
    asr = resolve_asr_model(asr_model, with_asr)
    with tempfile.TemporaryDirectory(prefix="vs-package-") as scratch:
        try:
            folder = model_folder(source, Path(scratch) / "extracted")
        except ValueError as exc:
            raise PackagingError(str(exc)) from exc
        if (folder / ADAPTER_FILE).is_file():
            folder = merge_adapter(folder, Path(scratch) / "merged")
        return write_package(package_entries(folder, asr_model=asr), Path(out))


def merge_adapter(folder: Path, into: Path) -> Path:
    """A LoRA-trained model folder as a full one: the endpoint has no base encoder installed.

    The base encoder's weights with the updates merged go into ``into/model.pt``; every other
    file of the folder (a model card, say) is copied along.
    """
    loaded = load_model(folder)
    save_model(into, loaded.model, loaded.tokenizer, loaded.cfg)
    for name, path in _files(folder, ""):
        target = into / name
        if name != ADAPTER_FILE and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    return into


def main(argv: list[str] | None = None) -> None:
    """Command line: build model.tar.gz and print its path and sha256."""
    parser = argparse.ArgumentParser(prog="python -m vs_model.packaging", description=__doc__)
    parser.add_argument("training_output", help="model folder or training model.tar.gz")
    parser.add_argument("--out", default="model.tar.gz", help="where to write the package")
    asr = parser.add_mutually_exclusive_group()
    asr.add_argument(
        "--asr-model", help="Whisper base folder to ship as asr/ (default: the installed one)"
    )
    asr.add_argument(
        "--no-asr", action="store_true", help="ship no speech recognizer (no 'asr' segmentation)"
    )
    args = parser.parse_args(argv)
    try:
        asr_model = resolve_asr_model(args.asr_model, not args.no_asr)
        digest = build_package(args.training_output, args.out, asr_model, asr_model is not None)
    except (PackagingError, FileNotFoundError, ValueError) as exc:
        parser.exit(2, f"error: {exc}\n")
    size = Path(args.out).stat().st_size
    print(f"{args.out}  {size / 1e6:.1f} MB  sha256 {digest}  asr: {asr_model or 'none'}")


if __name__ == "__main__":
    main()
