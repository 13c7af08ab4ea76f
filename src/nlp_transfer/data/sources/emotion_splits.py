"""The filtering both emotion domains share after label mapping: duplicates, overlap, size caps."""

from __future__ import annotations

import random

from .layout import text_record
from .splitting import cap_splits, drop_conflicting_duplicates, remove_cross_split_overlap

SHARED_LABELS = ("anger", "fear", "joy", "sadness", "surprise")
CAPS = {"train": 16000, "validation": 2000, "test": 2000}
CAP_SEED = 13


def finish_emotion_splits(splits: dict[str, list[tuple[str, str]]]) -> dict[str, list[dict[str, str]]]:
    """Keeps the original splits; drops duplicates and overlap, then caps with ``random.Random(13)``.

    Steps, as in emotion/README.md: (1) duplicate texts inside a split keep one copy when the labels
    agree and vanish when they disagree; (2) a text shared by splits stays in test over validation over
    train; (3) splits above the caps are subsampled, original order kept.
    """
    deduped = {name: drop_conflicting_duplicates(pairs) for name, pairs in splits.items()}
    separated = remove_cross_split_overlap(deduped)
    capped = cap_splits(separated, CAPS, random.Random(CAP_SEED))
    return {name: [text_record(text, label) for text, label in pairs] for name, pairs in capped.items()}
