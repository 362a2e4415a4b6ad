"""Tokenizers and the text encoder backbone (transformers Auto classes; a tiny offline BERT)."""

from __future__ import annotations

import inspect
import string
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import (
    MODEL_MAPPING,
    AutoConfig,
    AutoModel,
    AutoTokenizer,
    BertConfig,
    BertTokenizerFast,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from vs_model.config import TINY_TEXT_MODEL, ModelConfig
from vs_model.encoder_packages import resolve_text_model

MAX_CONTEXT_TURNS = 32
# MELD's subtitles use typographic punctuation ("don’t", "…"); speech recognition and most
# pretraining text use ASCII. The encoder reads both one way, so training and serving agree.
_TYPOGRAPHIC = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
)
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

# Everyday English, including every word the synthetic generator speaks (a test checks that).
_WORDS = """
a about after again against all alone always am an and angry any are around at away awful back
bad be because been before being best better big birthday both broke brother bus but by call
came can car cheated chandler come comes coffee could cry dark date day did do does doing done
dont down dare disgusting each ever every everything ew family father feel few fine first five
food for friend friends from funny furious game get getting girl go going gone good got great
gross guy guys had happy has hate have he hear help her here hey him his home honey how i if in
into is it its job joey just keep kind know last leave let lie life like little look looking
lost love lovely made make makes man married maybe me mean meeting mind miss money monica more
morning most mother moving much my nasty need never new news next nice night no nobody noise
noon not nothing now of off office oh ok okay on one only or other our out over paper party pass
people phoebe please puppy rachel read really right ring room ross said salt same say scared see
she sick smells so some something sorry stop such sure surprise take talk tell terrible
terrified than thank thanks that the their them then there these they thing things think this
those thought time to today tomorrow too two um up us very wait want was watch way we well went
were what when where which while who why will wish with won wonderful work would wow wrong yeah
yelling yes yet you your yuck afraid between crap dead fun god hell hungry kill kiss laugh mad
mess minute movie music open outside play ready remember run scary sleep start stay stupid sweet
ugh wake weird worried worry hello hi
"""
COMMON_WORDS: tuple[str, ...] = tuple(_WORDS.split())


def tiny_vocabulary() -> list[str]:
    """Vocabulary of the tiny BERT: specials, characters, ##-pieces, digits and common words."""
    pieces = list(string.ascii_lowercase) + list(string.digits) + list(string.punctuation)
    suffixes = [f"##{c}" for c in string.ascii_lowercase + string.digits]
    suffixes += [f"##{s}" for s in ("s", "ed", "ing", "ly", "er", "est", "n", "t", "'s", "'t")]
    vocab: list[str] = []
    for token in (*SPECIAL_TOKENS, *pieces, *suffixes, *COMMON_WORDS):
        if token not in vocab:
            vocab.append(token)
    return vocab


def build_tokenizer(cfg: ModelConfig) -> PreTrainedTokenizerBase:
    """The tokenizer of `cfg.text_model`: hub name, local folder, or the tiny offline vocabulary."""
    if cfg.text_model != TINY_TEXT_MODEL:
        return AutoTokenizer.from_pretrained(resolve_text_model(cfg.text_model))
    # transformers 5 only builds a working WordPiece tokenizer from a folder holding vocab.txt.
    with tempfile.TemporaryDirectory(prefix="vs-tiny-vocab-") as folder:
        Path(folder, "vocab.txt").write_text("\n".join(tiny_vocabulary()) + "\n", encoding="utf-8")
        return BertTokenizerFast.from_pretrained(folder, do_lower_case=True)


def normalize_text(text: str) -> str:
    """ASCII quotes, dashes and dots in place of their typographic forms."""
    return text.translate(_TYPOGRAPHIC).replace("\u2026", "...")


def tokenize(
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    cfg: ModelConfig,
    contexts: Sequence[str] | None = None,
) -> dict[str, torch.Tensor]:
    """Token ids and attention mask, both int64 [len(texts), cfg.text_max_length].

    With ``contexts`` (one string per text, possibly empty) each row is the pair
    ``[CLS] text [SEP] context [SEP]``: the utterance is kept whole (up to the max length) and
    its context is cut from the left, so the oldest words go first.
    """
    texts = [normalize_text(t or "") for t in texts]
    if contexts is None:
        return _encode(tokenizer, texts, None, cfg.text_max_length)
    if len(contexts) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(contexts)} contexts")
    contexts = [normalize_text(c) for c in contexts]
    length = cfg.text_max_length
    room = length - tokenizer.num_special_tokens_to_add(pair=True)
    own = tokenizer(texts, add_special_tokens=False)["input_ids"]
    # Utterances that leave no room for context (or have none) are encoded alone.
    paired = [i for i, c in enumerate(contexts) if c and len(own[i]) < room]
    alone = sorted(set(range(len(texts))) - set(paired))
    ids = torch.zeros((len(texts), length), dtype=torch.long)
    mask = torch.zeros((len(texts), length), dtype=torch.long)
    if alone:
        single = _encode(tokenizer, [texts[i] for i in alone], None, length)
        ids[alone], mask[alone] = single["input_ids"], single["attention_mask"]
    if paired:
        pairs = _encode(
            tokenizer, [texts[i] for i in paired], [contexts[i] for i in paired], length
        )
        ids[paired], mask[paired] = pairs["input_ids"], pairs["attention_mask"]
    return {"input_ids": ids, "attention_mask": mask}


def _encode(
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    contexts: list[str] | None,
    length: int,
) -> dict[str, torch.Tensor]:
    side = tokenizer.truncation_side
    # Only the context (the second sequence) is ever cut, and from the left: the oldest turns go.
    tokenizer.truncation_side = "left" if contexts is not None else side
    try:
        encoded = tokenizer(
            texts,
            contexts,
            padding="max_length",
            truncation="only_second" if contexts is not None else True,
            max_length=length,
            return_tensors="pt",
        )
    finally:
        tokenizer.truncation_side = side
    return {
        "input_ids": encoded["input_ids"].long(),
        "attention_mask": encoded["attention_mask"].long(),
    }


def dialogue_context(earlier: Sequence[tuple[str, str]], speaker: str = "") -> str:
    """The context string of an utterance from the ``(speaker, text)`` pairs before it.

    Turns are separated by ``|``. Where speakers are known they are marked relative to the
    utterance's own speaker, who is ``A``; the others are ``B``, ``C``, … by how recently they
    spoke. Names are left out on purpose: what matters is who answers whom, and a name seen
    in training would be a shortcut that no video at inference time offers.
    """
    # No more turns than the max length could hold (each takes a word and a separator at least).
    earlier = earlier[-MAX_CONTEXT_TURNS:]
    letters: dict[str, str] = {speaker: "A"} if speaker else {}
    others = 0
    for name, _ in reversed(earlier):
        if name and name not in letters:
            others += 1
            letters[name] = string.ascii_uppercase[min(others, 25)]
    turns = [f"{letters[name]}: {text}" if name else text for name, text in earlier]
    return " | ".join(turns)


def tiny_text_config(cfg: ModelConfig) -> BertConfig:
    """Configuration of the tiny random BERT that matches `tiny_vocabulary()`."""
    return BertConfig(
        vocab_size=len(tiny_vocabulary()),
        hidden_size=cfg.tiny_text_hidden,
        num_hidden_layers=cfg.tiny_text_layers,
        num_attention_heads=cfg.tiny_text_heads,
        intermediate_size=cfg.tiny_text_hidden * 4,
        max_position_embeddings=max(64, cfg.text_max_length),
    )


def build_text_backbone(
    cfg: ModelConfig, text_config: PretrainedConfig | None = None
) -> PreTrainedModel:
    """The transformer encoder, without its pooling layer where the architecture allows.

    With `text_config` the encoder is built from that configuration with random weights (a
    checkpoint's state dict fills them in, nothing is downloaded); otherwise the pretrained
    weights of `cfg.text_model` are loaded, or the tiny random BERT is built.
    """
    if text_config is not None:
        return AutoModel.from_config(text_config, **_no_pooler(text_config))
    if cfg.text_model == TINY_TEXT_MODEL:
        config = tiny_text_config(cfg)
        return AutoModel.from_config(config, **_no_pooler(config))
    source = resolve_text_model(cfg.text_model)
    config = AutoConfig.from_pretrained(source)
    # Loaded whole and then without its pooler: leaving it out at load would make transformers
    # report the checkpoint's pooler weights as unexpected on every start (`vsent analyze` too).
    model = AutoModel.from_pretrained(source, config=config)
    if _no_pooler(config):
        model.pooler = None
    return model


def _no_pooler(config: PretrainedConfig) -> dict[str, bool]:
    # The network pools hidden states itself: a pooler would be weights that never get a
    # gradient (DDP then needs find_unused_parameters). BERT-like encoders can leave it out.
    model_class = MODEL_MAPPING.get(type(config), None)
    if model_class is None:
        return {}
    accepts = "add_pooling_layer" in inspect.signature(model_class.__init__).parameters
    return {"add_pooling_layer": False} if accepts else {}


def load_text_config(folder: str | Path) -> PretrainedConfig:
    """A saved encoder configuration (read from a local folder only)."""
    return AutoConfig.from_pretrained(str(folder))
