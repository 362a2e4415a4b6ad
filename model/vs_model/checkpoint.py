"""Saving and loading a trained model folder (what training writes to SM_MODEL_DIR).

Layout: model.pt (state dict), config.json (ModelConfig), tokenizer/ (tokenizer files) and
text_encoder/ (the text encoder's transformers configuration). Loading never touches the network:
the encoder is rebuilt from its saved configuration and the state dict supplies every weight.

A model whose encoder was trained with LoRA is saved as adapter.pt instead of model.pt: the
encoder's low-rank updates and every other weight, a few MB. Its base encoder (named in
config.json with the SHA-256 of its weights, for example the pip-installed MiniLM) is loaded from
the local installation and the updates are merged into it: the result is a plain model, and
:func:`save_model` of it writes a full model.pt (what the endpoint package holds).
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from vs_model import lora
from vs_model.config import ModelConfig
from vs_model.encoder_packages import resolve_text_model
from vs_model.network import MultimodalSentimentModel
from vs_model.releases import file_sha256
from vs_model.text import load_text_config

WEIGHTS_FILE = "model.pt"
ADAPTER_FILE = "adapter.pt"
BACKBONE_PREFIX = "text.backbone."
CONFIG_FILE = "config.json"
TOKENIZER_DIR = "tokenizer"
TEXT_ENCODER_DIR = "text_encoder"
FORMAT = "video-sentiment/model@1"


@dataclass
class LoadedModel:
    """A model ready for inference (eval mode) with its tokenizer and configuration."""

    model: MultimodalSentimentModel
    tokenizer: PreTrainedTokenizerBase
    cfg: ModelConfig


def _unwrap(model: nn.Module) -> MultimodalSentimentModel:
    # DDP and torch.compile wrap the real module; the checkpoint must not carry their prefixes.
    for attr in ("module", "_orig_mod"):
        inner = getattr(model, attr, None)
        if isinstance(inner, nn.Module):
            return _unwrap(inner)
    return model  # type: ignore[return-value]


def save_model(
    folder: str | Path,
    model: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    cfg: ModelConfig,
) -> Path:
    """Write the model folder; returns its path."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    net = _unwrap(model)
    document: dict[str, object] = {"format": FORMAT, "config": cfg.to_dict()}
    if lora.is_wrapped(net.text.backbone):
        base = resolve_text_model(cfg.text_model)
        document["text_base"] = {"model": cfg.text_model, "sha256": _base_digest(base)}
        others = {
            k: v.detach().cpu()
            for k, v in net.state_dict().items()
            if not k.startswith(BACKBONE_PREFIX)
        }
        adapter = {"updates": lora.low_rank_updates(net.text.backbone), "state": others}
        _write_weights(out, ADAPTER_FILE, adapter)
    else:
        state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
        _write_weights(out, WEIGHTS_FILE, state)
    (out / CONFIG_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    tokenizer.save_pretrained(str(out / TOKENIZER_DIR))
    backbone = net.text.backbone
    plain = backbone.get_base_model() if lora.is_wrapped(backbone) else backbone
    plain.config.save_pretrained(str(out / TEXT_ENCODER_DIR))
    return out


def _write_weights(folder: Path, name: str, payload: dict) -> None:
    torch.save(payload, folder / name)
    # A folder holds one kind of weights: a stale file of the other kind would shadow this one.
    for other in {WEIGHTS_FILE, ADAPTER_FILE} - {name}:
        (folder / other).unlink(missing_ok=True)


def weights_file(folder: str | Path) -> Path:
    """The weights of a model folder: model.pt, or adapter.pt for a LoRA-trained encoder."""
    root = Path(folder)
    for name in (WEIGHTS_FILE, ADAPTER_FILE):
        if (root / name).is_file():
            return root / name
    raise FileNotFoundError(f"incomplete model folder {root}: {WEIGHTS_FILE} is missing")


def _document(folder: str | Path) -> dict:
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"not a model folder (no {CONFIG_FILE}): {folder}")
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("format") != FORMAT:
        raise ValueError(f"{path}: unsupported model format {document.get('format')!r}")
    return document


def read_config(folder: str | Path) -> ModelConfig:
    """The ModelConfig stored in a model folder."""
    return ModelConfig.from_dict(_document(folder)["config"])


def load_model(folder: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Rebuild the model from a folder written by `save_model`, in eval mode on `device`."""
    root = Path(folder)
    document = _document(root)
    cfg = ModelConfig.from_dict(document["config"])
    weights = weights_file(root)
    for needed in (TOKENIZER_DIR, TEXT_ENCODER_DIR):
        if not (root / needed).exists():
            raise FileNotFoundError(f"incomplete model folder {root}: {needed} is missing")
    if weights.name == ADAPTER_FILE:
        model = _merged_lora_model(weights, cfg, document.get("text_base") or {})
    else:
        text_config = load_text_config(root / TEXT_ENCODER_DIR)
        model = MultimodalSentimentModel(cfg, text_config=text_config, load_pretrained=False)
        state = torch.load(weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    model.to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(root / TOKENIZER_DIR))
    return LoadedModel(model=model, tokenizer=tokenizer, cfg=cfg)


def _base_digest(folder: str | Path) -> str:
    """SHA-256 of a base encoder's weights: the base a LoRA model was trained on."""
    path = Path(folder) / lora.BASE_WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(f"{folder} holds no {lora.BASE_WEIGHTS}: not a usable LoRA base")
    return file_sha256(path)


def _merged_lora_model(path: Path, cfg: ModelConfig, base: dict) -> MultimodalSentimentModel:
    """The base encoder from the local installation, the saved updates added, the rest loaded."""
    source = resolve_text_model(base.get("model", cfg.text_model))
    expected = base.get("sha256")
    found = _base_digest(source)
    if expected and found != expected:
        raise ValueError(
            f"the installed base encoder {source} (sha256 {found}) is not the one this model"
            f" was trained on (sha256 {expected})"
        )
    # Built without LoRA layers: the merged encoder is a plain one.
    model = MultimodalSentimentModel(cfg.replace(text_lora_rank=0), load_pretrained=False)
    adapter = torch.load(path, map_location="cpu", weights_only=True)
    lora.merge_updates(model.text.backbone, adapter["updates"])
    missing, unexpected = model.load_state_dict(adapter["state"], strict=False)
    missing = [k for k in missing if not k.startswith(BACKBONE_PREFIX)]
    if missing or unexpected:
        raise ValueError(
            f"{path} does not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    return model


def model_folder(source: str | Path, scratch: Path) -> Path:
    """The model folder ``source``, or ``scratch`` with the model.tar.gz ``source`` unpacked in it.

    Raises ValueError for anything else. Members that would land outside ``scratch`` (absolute
    paths, ``..``, links out) are refused by the tarfile ``data`` filter.
    """
    path = Path(source)
    if path.is_dir():
        return path
    if not path.is_file() or not tarfile.is_tarfile(path):
        raise ValueError(f"{path} is neither a model folder nor a model.tar.gz")
    with tarfile.open(path, "r:*") as tar:
        tar.extractall(scratch, filter="data")
    return scratch
