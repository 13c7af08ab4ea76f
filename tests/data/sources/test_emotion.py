"""CARER ``text;label`` files and GoEmotions TSVs → emotion JSONL with the shared 5 labels."""

from __future__ import annotations

import random

import pytest

from nlp_transfer.data.sources import carer, goemotions
from nlp_transfer.data.sources.emotion_splits import SHARED_LABELS
from nlp_transfer.data.sources.splitting import cap_splits

from .conftest import RawFolder, read_domain, snapshot

CARER_TRAIN = (
    "i feel loved by my family;love\n"
    "i feel  so   alone;sadness\n"
    "i feel so alone;sadness\n"  # same text after whitespace collapse, same label: one copy kept
    "i feel strange;fear\n"
    "i feel strange;surprise\n"  # same text, labels disagree: both copies dropped
    "i feel angry today;anger\n"  # also in validation: removed from train
    "i feel amazed;surprise\n"
)
CARER_VAL = "\ni feel angry today;anger\ni feel scared;fear\ni feel happy;joy\n"  # leading blank line
CARER_TEST = "i feel happy;joy\ni feel terrified;fear\n"  # "happy" overlaps validation: test keeps it


def write_carer(raw: RawFolder) -> None:
    files = carer.raw_files()
    raw.put(files["train"], CARER_TRAIN)
    raw.put(files["validation"], CARER_VAL)
    raw.put(files["test"], CARER_TEST)


def test_carer_maps_love_to_joy_and_applies_dedup_and_overlap_rules(raw: RawFolder) -> None:
    write_carer(raw)
    carer.prepare(raw.fetcher, raw.out)
    splits = read_domain(raw.out, "emotion", "tweets")
    assert splits == {
        "train": [
            {"text": "i feel loved by my family", "label": "joy"},
            {"text": "i feel so alone", "label": "sadness"},
            {"text": "i feel amazed", "label": "surprise"},
        ],
        "validation": [
            {"text": "i feel angry today", "label": "anger"},
            {"text": "i feel scared", "label": "fear"},
        ],
        "test": [
            {"text": "i feel happy", "label": "joy"},
            {"text": "i feel terrified", "label": "fear"},
        ],
    }


def test_carer_runs_are_byte_identical(raw: RawFolder, tmp_path) -> None:
    write_carer(raw)
    carer.prepare(raw.fetcher, raw.out)
    carer.prepare(raw.fetcher, tmp_path / "again")
    assert snapshot(tmp_path / "again") == snapshot(raw.out) != {}


def test_carer_rejects_a_line_without_a_known_label() -> None:
    with pytest.raises(ValueError, match=r"train.txt:2: expected 'text;label'"):
        carer.parse_lines("i feel fine;joy\ni feel fine;bored\n", source="train.txt")


GOEMOTIONS_LABELS = (
    "admiration amusement anger annoyance approval caring confusion curiosity desire disappointment "
    "disapproval disgust embarrassment excitement fear gratitude grief joy love nervousness optimism "
    "pride realization relief remorse sadness surprise neutral"
).split()
ID = {name: str(i) for i, name in enumerate(GOEMOTIONS_LABELS)}


def row(text: str, *labels: str, comment_id: str = "eabc") -> str:
    return f"{text}\t{','.join(ID[label] for label in labels)}\t{comment_id}\n"


GOEMOTIONS_TRAIN = "".join(
    [
        row("Thanks [NAME], that is  great!", "admiration", "gratitude"),  # two fine labels, one group
        row("What do you mean?", "curiosity"),
        row("ok.", "neutral"),  # neutral only: dropped
        row("Happy and sad at once", "joy", "sadness"),  # two groups: dropped
        row("Whatever, stop it", "neutral", "annoyance"),  # neutral + emotion: dropped
        row("Gross.", "disgust"),  # disgust has no shared counterpart: dropped
        row('"""Quoted"" stays as is"', "nervousness"),  # TAB-split only, quotes kept
        row("So sorry for your loss", "grief", "remorse"),
    ]
)
GOEMOTIONS_DEV = row("I am so angry", "anger") + row("Wow!", "surprise", "realization")
GOEMOTIONS_TEST = row("I am so angry", "anger") + row("Scary stuff", "fear")


def write_goemotions(raw: RawFolder) -> None:
    files = goemotions.raw_files()
    raw.put(files["labels"], "\n".join(GOEMOTIONS_LABELS) + "\n")
    raw.put(files["train"], GOEMOTIONS_TRAIN)
    raw.put(files["validation"], GOEMOTIONS_DEV)
    raw.put(files["test"], GOEMOTIONS_TEST)


def test_goemotions_keeps_comments_with_exactly_one_shared_ekman_group(raw: RawFolder) -> None:
    write_goemotions(raw)
    goemotions.prepare(raw.fetcher, raw.out)
    splits = read_domain(raw.out, "emotion", "reddit")
    assert splits == {
        "train": [
            {"text": "Thanks [NAME], that is great!", "label": "joy"},
            {"text": "What do you mean?", "label": "surprise"},
            {"text": '"""Quoted"" stays as is"', "label": "fear"},
            {"text": "So sorry for your loss", "label": "sadness"},
        ],
        "validation": [{"text": "Wow!", "label": "surprise"}],  # "I am so angry" stays in test only
        "test": [
            {"text": "I am so angry", "label": "anger"},
            {"text": "Scary stuff", "label": "fear"},
        ],
    }


def test_ekman_mapping_covers_every_goemotions_label_once() -> None:
    fine = [f for fines in goemotions.EKMAN_MAPPING.values() for f in fines.split()]
    assert sorted(fine + ["neutral"]) == sorted(GOEMOTIONS_LABELS)
    assert set(goemotions.EKMAN_MAPPING) - {"disgust"} == set(SHARED_LABELS)
    assert goemotions.ekman_label(["love", "pride"]) == "joy"
    assert goemotions.ekman_label(["neutral"]) is None
    assert goemotions.ekman_label(["fear", "sadness"]) is None


def test_caps_subsample_with_random_13_in_split_order_keeping_source_order() -> None:
    splits = {"train": list(range(10)), "validation": list(range(100, 103)), "test": list(range(200, 206))}
    capped = cap_splits(splits, {"train": 4, "validation": 5, "test": 2}, random.Random(13))

    rng = random.Random(13)
    train_keep = sorted(rng.sample(range(10), 4))  # validation is under its cap: no draw
    test_keep = sorted(rng.sample(range(6), 2))
    assert capped == {
        "train": [i for i in train_keep],
        "validation": [100, 101, 102],
        "test": [200 + i for i in test_keep],
    }
    assert capped["train"] == sorted(capped["train"])
