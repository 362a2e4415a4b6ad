"""The shipped default model (models/meld-text): it loads offline on the pip-installed MiniLM, says
what it reads, and tells clear-cut lines apart the way a MELD-trained model must."""

from pathlib import Path

import pytest
import torch

from vs_model.checkpoint import ADAPTER_FILE, load_model
from vs_model.labels import EMOTIONS, SENTIMENTS
from vs_model.predictor import video_contexts
from vs_model.text import tokenize

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "meld-text"

# Lines no annotator of MELD would argue about, with the labels the model must give them.
CLEAR_LINES = [
    ("Oh my God, this is the best day of my life! I love it!", "joy", "positive"),
    ("I miss her so much. I can't stop crying.", "sadness", "negative"),
    ("What?! Are you serious? No way!", "surprise", None),
    ("Okay, I'll see you at six.", "neutral", "neutral"),
    ("Get out! I am so sick of you, I hate you!", "anger", "negative"),
]


@pytest.fixture(scope="module")
def default_model():
    return load_model(DEFAULT_MODEL)


def _predict(loaded, texts: list[str], contexts: list[str]) -> tuple[list[str], list[str]]:
    tokens = tokenize(loaded.tokenizer, texts, loaded.cfg, contexts)
    with torch.inference_mode():
        out = loaded.model.eval()(tokens["input_ids"], tokens["attention_mask"])
    emotions = [EMOTIONS[i] for i in out.emotion_logits.argmax(-1).tolist()]
    sentiments = [SENTIMENTS[i] for i in out.sentiment_logits.argmax(-1).tolist()]
    return emotions, sentiments


def test_the_default_model_is_a_small_text_model_with_context(default_model) -> None:
    assert (DEFAULT_MODEL / ADAPTER_FILE).stat().st_size < 8_000_000
    assert (DEFAULT_MODEL / "MODEL_CARD.md").is_file()
    assert default_model.cfg.modalities == ("text",)
    assert default_model.cfg.dialogue_context is True


def test_clear_lines_get_their_labels_alone_and_in_a_conversation(default_model) -> None:
    texts = [text for text, _, _ in CLEAR_LINES]
    for contexts in ([""] * len(texts), video_contexts(texts)):
        emotions, sentiments = _predict(default_model, texts, contexts)
        assert emotions == [emotion for _, emotion, _ in CLEAR_LINES]
        for got, (_, _, expected) in zip(sentiments, CLEAR_LINES, strict=True):
            assert expected is None or got == expected
