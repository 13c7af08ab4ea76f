"""What both topic domains share: the label set, the dedup key and the seeded largest-remainder split."""

from __future__ import annotations

import random

from .layout import text_record
from .splitting import drop_duplicates, group_by_label, largest_remainder_counts, stratified_split

SHARED_LABELS = ("business", "sci_tech", "sports", "world_politics")
SPLIT_SEED = 20251125
TITLE_END_PUNCTUATION = ".!?:"


def dedup_key(text: str) -> str:
    """Lowercased letters and digits only, so copies differing in case, punctuation or spacing collide."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def split_topic_domain(pairs: list[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    """Dedup (first copy wins), then per label in label-set order a 70/10/20 largest-remainder cut.

    Caps (train 8000, validation 1000, test 2000) are never reached by the pinned sources; a larger
    source would be refused rather than cut by a guessed rule.
    """
    kept = drop_duplicates(pairs, key=lambda pair: dedup_key(pair[0]))
    groups = group_by_label(kept)
    by_label = {label: groups[label] for label in SHARED_LABELS if label in groups}
    splits = stratified_split(by_label, random.Random(SPLIT_SEED), largest_remainder_counts)
    for name, cap in {"train": 8000, "validation": 1000, "test": 2000}.items():
        if len(splits[name]) > cap:
            raise ValueError(f"{name} has {len(splits[name])} examples, above the documented cap {cap}")
    return {name: [text_record(text, label) for text, label in items] for name, items in splits.items()}
