"""CARER / dair-ai emotion tweets from the ``text;label`` text files of a public redistribution."""

from __future__ import annotations

from pathlib import Path

from .emotion_splits import SHARED_LABELS, finish_emotion_splits
from .fetch import RawFetcher, RawFile
from .layout import write_domain
from .text import collapse_whitespace

TASK = "emotion"
DOMAIN = "tweets"
REPO = "Ashugujjar3/Tweet_emotion-detector"
COMMIT = "8e69c5edbf5ec06fcd9d9ca00ed32675f24cd1bd"
SPLIT_FILES = {"train": "train.txt", "validation": "val.txt", "test": "test.txt"}
# CARER has six labels; `love` joins `joy` so tweets match GoEmotions' Ekman grouping.
LABEL_MAP = {label: label for label in SHARED_LABELS} | {"love": "joy"}


def raw_files() -> dict[str, RawFile]:
    """The three split files, keyed by our split name."""
    return {split: RawFile(REPO, COMMIT, name) for split, name in SPLIT_FILES.items()}


def parse_lines(raw: str, source: str = "<carer>") -> list[tuple[str, str]]:
    """``(text, mapped label)`` per non-blank line; the label is after the last ``;``."""
    pairs = []
    for number, line in enumerate(raw.split("\n"), start=1):
        if not line.strip():
            continue  # val.txt starts with a blank line
        text, sep, label = line.rpartition(";")
        label = label.strip()
        if not sep or label not in LABEL_MAP:
            raise ValueError(f"{source}:{number}: expected 'text;label' with a CARER label, got {line!r}")
        text = collapse_whitespace(text)
        if text:
            pairs.append((text, LABEL_MAP[label]))
    return pairs


def build_domain(files: dict[str, Path]) -> dict[str, list[dict[str, str]]]:
    """Parsed splits after the shared emotion filtering."""
    splits = {
        split: parse_lines(path.read_text(encoding="utf-8"), source=str(path))
        for split, path in files.items()
    }
    return finish_emotion_splits(splits)


def prepare(fetcher: RawFetcher, out: Path) -> list[Path]:
    """Writes ``emotion/tweets/*.jsonl``."""
    files = {split: fetcher.get(raw) for split, raw in raw_files().items()}
    return write_domain(out, TASK, DOMAIN, build_domain(files))
