"""Saving and loading a trained model folder (what training writes to SM_MODEL_DIR).

Layout: model.pt (state dict), config.json (ModelConfig), tokenizer/ (tokenizer files) and
text_encoder/ (the text encoder's transformers configuration). Loading never touches the network:
the encoder is rebuilt from its saved configuration and the state dict supplies every weight.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from vs_model.config import ModelConfig
from vs_model.network import MultimodalSentimentModel
from vs_model.text import load_text_config

WEIGHTS_FILE = "model.pt"
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


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's content, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    torch.save(state, out / WEIGHTS_FILE)
    document = {"format": FORMAT, "config": cfg.to_dict()}
    (out / CONFIG_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    tokenizer.save_pretrained(str(out / TOKENIZER_DIR))
    net.text.backbone.config.save_pretrained(str(out / TEXT_ENCODER_DIR))
    return out


def read_config(folder: str | Path) -> ModelConfig:
    """The ModelConfig stored in a model folder."""
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"not a model folder (no {CONFIG_FILE}): {folder}")
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("format") != FORMAT:
        raise ValueError(f"{path}: unsupported model format {document.get('format')!r}")
    return ModelConfig.from_dict(document["config"])


def load_model(folder: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Rebuild the model from a folder written by `save_model`, in eval mode on `device`."""
    root = Path(folder)
    cfg = read_config(root)
    for needed in (WEIGHTS_FILE, TOKENIZER_DIR, TEXT_ENCODER_DIR):
        if not (root / needed).exists():
            raise FileNotFoundError(f"incomplete model folder {root}: {needed} is missing")
    text_config = load_text_config(root / TEXT_ENCODER_DIR)
    model = MultimodalSentimentModel(cfg, text_config=text_config, load_pretrained=False)
    state = torch.load(root / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(root / TOKENIZER_DIR))
    return LoadedModel(model=model, tokenizer=tokenizer, cfg=cfg)
