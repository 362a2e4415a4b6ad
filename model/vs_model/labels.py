"""The one source of truth for the label sets and their order (the heads' output order)."""

EMOTIONS: tuple[str, ...] = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")

EMOTION_INDEX: dict[str, int] = {name: i for i, name in enumerate(EMOTIONS)}
SENTIMENT_INDEX: dict[str, int] = {name: i for i, name in enumerate(SENTIMENTS)}


def emotion_index(label: str) -> int:
    """Index of an emotion label; accepts MELD's spelling in any case and surrounding spaces."""
    key = label.strip().lower()
    if key not in EMOTION_INDEX:
        raise ValueError(f"unknown emotion {label!r}; expected one of {', '.join(EMOTIONS)}")
    return EMOTION_INDEX[key]


def sentiment_index(label: str) -> int:
    """Index of a sentiment label; accepts any case and surrounding spaces."""
    key = label.strip().lower()
    if key not in SENTIMENT_INDEX:
        raise ValueError(f"unknown sentiment {label!r}; expected one of {', '.join(SENTIMENTS)}")
    return SENTIMENT_INDEX[key]
