"""De-duplication, seeded stratified splits and size caps, as documented per task README.

All randomness comes from a ``random.Random`` passed in by the caller, so each source controls its own
seed and the order in which the generator is consumed (which decides the exact output).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")

SPLIT_FRACTIONS = {"train": 0.7, "validation": 0.1, "test": 0.2}


def drop_duplicates(items: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    """Keeps the first item of each key, in input order."""
    seen: set[Hashable] = set()
    kept: list[T] = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            kept.append(item)
    return kept


def group_by_label(items: Iterable[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """``(text, label)`` pairs grouped per label, order kept inside each label."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for text, label in items:
        groups.setdefault(label, []).append((text, label))
    return groups


def rounded_counts(n: int) -> tuple[int, int, int]:
    """70/10/20 cut of ``n`` by Python's ``round`` for train and validation; test takes the rest."""
    n_train = round(n * SPLIT_FRACTIONS["train"])
    n_val = round(n * SPLIT_FRACTIONS["validation"])
    return n_train, n_val, n - n_train - n_val


def largest_remainder_counts(n: int) -> tuple[int, int, int]:
    """70/10/20 of ``n`` by largest-remainder allocation (floors first, leftovers to biggest fractions).

    Ties keep split order (train, validation, test). Fractions are the plain float products, as the
    published splits were computed that way (e.g. 345 * 0.7 = 241.49999..., so validation wins the tie).
    """
    exact = [n * fraction for fraction in SPLIT_FRACTIONS.values()]
    counts = [int(x) for x in exact]
    order = sorted(range(3), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts[0], counts[1], counts[2]


def stratified_split(
    by_label: Mapping[str, Sequence[T]],
    rng: random.Random,
    counts: Callable[[int], tuple[int, int, int]],
) -> dict[str, list[T]]:
    """Per label (in mapping order): shuffle, cut into train/validation/test; then shuffle each split.

    One generator serves every step, so the label order and the split order are part of the recipe.
    """
    splits: dict[str, list[T]] = {name: [] for name in SPLIT_FRACTIONS}
    for items in by_label.values():
        pool = list(items)
        rng.shuffle(pool)
        n_train, n_val, _ = counts(len(pool))
        splits["train"].extend(pool[:n_train])
        splits["validation"].extend(pool[n_train : n_train + n_val])
        splits["test"].extend(pool[n_train + n_val :])
    for name in SPLIT_FRACTIONS:
        rng.shuffle(splits[name])
    return splits


def drop_conflicting_duplicates(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Exact duplicate texts: one copy survives if all copies agree on the label, none if they disagree."""
    labels: dict[str, set[str]] = {}
    ordered: list[tuple[str, str]] = []
    for text, label in pairs:
        if text not in labels:
            labels[text] = set()
            ordered.append((text, label))
        labels[text].add(label)
    return [(text, label) for text, label in ordered if len(labels[text]) == 1]


def remove_cross_split_overlap(
    splits: Mapping[str, list[tuple[str, str]]],
) -> dict[str, list[tuple[str, str]]]:
    """A text in several splits stays only in the most important one: test, then validation, then train."""
    result: dict[str, list[tuple[str, str]]] = {}
    taken: set[str] = set()
    for name in ("test", "validation", "train"):
        result[name] = [pair for pair in splits[name] if pair[0] not in taken]
        taken.update(text for text, _ in result[name])
    return {name: result[name] for name in SPLIT_FRACTIONS}


def cap_splits(
    splits: Mapping[str, list[T]], caps: Mapping[str, int], rng: random.Random
) -> dict[str, list[T]]:
    """Subsamples splits above their cap without replacement, keeping source order (sorted indices).

    The generator is consumed train, validation, test, and only by splits that exceed their cap.
    """
    capped: dict[str, list[T]] = {}
    for name in SPLIT_FRACTIONS:
        items = splits[name]
        if len(items) > caps[name]:
            keep = sorted(rng.sample(range(len(items)), caps[name]))
            items = [items[i] for i in keep]
        capped[name] = list(items)
    return capped
