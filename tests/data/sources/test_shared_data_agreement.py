"""The converters' label vocabularies agree with the prepared data in ../shared/data (no raw files needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from nlp_transfer.data.sources import conll, emotion_splits, topic_splits


def labels_in(folder: Path) -> set[str]:
    return {
        json.loads(line)["label"] for path in folder.glob("*.jsonl") for line in path.open(encoding="utf-8")
    }


def test_label_sets_and_ner_types_match_the_shared_data(data_dir: Path) -> None:
    for domain in ("tweets", "reddit"):
        assert labels_in(data_dir / "emotion" / domain) == set(emotion_splits.SHARED_LABELS)
    for domain in ("agnews", "bbc"):
        assert labels_in(data_dir / "topic" / domain) == set(topic_splits.SHARED_LABELS)
    for domain in ("books", "kitchen"):
        assert labels_in(data_dir / "sentiment" / domain) == {"positive", "negative"}

    readme = (data_dir / "ner" / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)```", readme, re.DOTALL)
    assert block is not None
    assert json.loads(block.group(1)) == conll.CONLL_CLASSES
    for domain in ("ai", "politics"):  # small domains: every entity type of the files is mapped
        types = {
            tag[2:]
            for path in (data_dir / "ner" / domain).glob("*.jsonl")
            for line in path.open(encoding="utf-8")
            for tag in json.loads(line)["tags"]
            if tag != "O"
        }
        assert types == set(conll.CONLL_CLASSES[domain])
