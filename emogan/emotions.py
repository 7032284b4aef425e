"""The seven FER2013 emotions, in the dataset's own label order, and their training-set counts."""

from collections.abc import Sequence

from emogan.errors import DataError

# FER2013's label order (fer2013.csv: 0=angry ... 6=neutral); every label array in the project indexes this.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# Class counts of the 28,709-image training split: the prior that generated emotions are compared with.
FER2013_TRAIN_COUNTS: dict[str, int] = {
    "angry": 3995, "disgust": 436, "fear": 4097, "happy": 7215, "sad": 4830, "surprise": 3171, "neutral": 4965,
}


def emotion_index(name: str) -> int:
    """The label of an emotion name (case-insensitive)."""
    key = name.strip().lower()
    if key not in EMOTIONS:
        raise DataError(f"unknown emotion {name!r}: expected one of {', '.join(EMOTIONS)}")
    return EMOTIONS.index(key)


def train_prior() -> list[float]:
    """FER2013's training class distribution, in label order."""
    total = sum(FER2013_TRAIN_COUNTS.values())
    return [FER2013_TRAIN_COUNTS[e] / total for e in EMOTIONS]


def asked_in_turn(n: int) -> list[str]:
    """The emotions a conditional model's grid faces are asked for: face i shows EMOTIONS[i mod 7]."""
    return [EMOTIONS[i % len(EMOTIONS)] for i in range(n)]


def asked_hits(judged: Sequence[str]) -> int:
    """How many grid faces the classifier reads as the emotion they were asked for (asked_in_turn)."""
    return sum(a == j for a, j in zip(asked_in_turn(len(judged)), judged))
