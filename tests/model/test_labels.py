"""Label sets and their order."""

import pytest

from vs_model.labels import (
    EMOTION_INDEX,
    EMOTIONS,
    SENTIMENT_INDEX,
    SENTIMENTS,
    emotion_index,
    sentiment_index,
)


def test_label_order_is_meld_alphabetical():
    assert EMOTIONS == ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
    assert SENTIMENTS == ("negative", "neutral", "positive")


def test_indices_invert_the_tuples():
    assert [EMOTIONS[EMOTION_INDEX[e]] for e in EMOTIONS] == list(EMOTIONS)
    assert [SENTIMENTS[SENTIMENT_INDEX[s]] for s in SENTIMENTS] == list(SENTIMENTS)
    assert sorted(EMOTION_INDEX.values()) == list(range(7))


def test_lookup_tolerates_case_and_spaces():
    assert emotion_index(" Joy ") == EMOTION_INDEX["joy"]
    assert sentiment_index("POSITIVE") == 2


def test_unknown_label_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown emotion 'happiness'.*anger"):
        emotion_index("happiness")
    with pytest.raises(ValueError, match="unknown sentiment"):
        sentiment_index("mixed")
