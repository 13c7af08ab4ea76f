"""GoEmotions Reddit comments from the original TSVs, reduced to one Ekman group per comment."""

from __future__ import annotations

from pathlib import Path

from .emotion_splits import SHARED_LABELS, finish_emotion_splits
from .fetch import RawFetcher, RawFile
from .layout import write_domain
from .text import collapse_whitespace

TASK = "emotion"
DOMAIN = "reddit"
REPO = "monologg/GoEmotions-pytorch"
COMMIT = "b75f9d3a8b76bc1060687925b04ca98a1b8ea66b"
SPLIT_FILES = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}
LABELS_FILE = "labels.txt"
NEUTRAL = "neutral"

# google-research goemotions/data/ekman_mapping.json; neutral is treated as a group of its own.
EKMAN_MAPPING = {
    "anger": "anger annoyance disapproval",
    "disgust": "disgust",
    "fear": "fear nervousness",
    "joy": "joy amusement approval excitement gratitude love optimism relief pride admiration desire caring",
    "sadness": "sadness disappointment embarrassment grief remorse",
    "surprise": "surprise realization confusion curiosity",
}
FINE_TO_GROUP = {fine: group for group, fines in EKMAN_MAPPING.items() for fine in fines.split()}
FINE_TO_GROUP[NEUTRAL] = NEUTRAL


def raw_files() -> dict[str, RawFile]:
    """The split TSVs keyed by our split name, plus ``labels`` for the id → name list."""
    files = {split: RawFile(REPO, COMMIT, f"data/original/{name}") for split, name in SPLIT_FILES.items()}
    files["labels"] = RawFile(REPO, COMMIT, f"data/original/{LABELS_FILE}")
    return files


def parse_label_names(raw: str) -> list[str]:
    """Fine label names; a comment's label ids index into this list."""
    return [line.strip() for line in raw.splitlines() if line.strip()]


def ekman_label(fine_labels: list[str]) -> str | None:
    """The shared label when all fine labels fall in exactly one kept group, else ``None``.

    ``None`` covers conflicts (several groups, neutral + emotion included), neutral only and disgust only.
    """
    groups = {FINE_TO_GROUP[label] for label in fine_labels}
    if len(groups) != 1:
        return None
    (group,) = groups
    return group if group in SHARED_LABELS else None


def parse_tsv(raw: str, names: list[str], source: str = "<goemotions>") -> list[tuple[str, str]]:
    """``(text, shared label)`` for kept comments; columns are text, comma-separated ids, comment id.

    Lines are split on TAB only: quote characters belong to the text (the published data keeps them).
    """
    pairs = []
    for number, line in enumerate(raw.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(f"{source}:{number}: expected 3 TAB-separated columns, got {len(fields)}")
        fine = [names[int(i)] for i in fields[1].split(",")]
        label = ekman_label(fine)
        text = collapse_whitespace(fields[0])
        if label is not None and text:
            pairs.append((text, label))
    return pairs


def build_domain(files: dict[str, Path]) -> dict[str, list[dict[str, str]]]:
    """Mapped splits after the shared emotion filtering."""
    names = parse_label_names(files["labels"].read_text(encoding="utf-8"))
    splits = {
        split: parse_tsv(files[split].read_text(encoding="utf-8"), names, source=str(files[split]))
        for split in SPLIT_FILES
    }
    return finish_emotion_splits(splits)


def prepare(fetcher: RawFetcher, out: Path) -> list[Path]:
    """Writes ``emotion/reddit/*.jsonl``."""
    files = {key: fetcher.get(raw) for key, raw in raw_files().items()}
    return write_domain(out, TASK, DOMAIN, build_domain(files))
