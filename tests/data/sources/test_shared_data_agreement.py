"""The converters' label vocabularies agree with the prepared data in ../shared/data (no raw files needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from omegaconf import OmegaConf

from nlp_transfer.config import CONFIG_DIR
from nlp_transfer.data.sources import emotion_splits, topic_splits


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
    short = {"PER": "person", "ORG": "organisation", "LOC": "location", "MISC": "misc"}
    readme_map = {
        d: {t: short[c] for t, c in table.items()} for d, table in json.loads(block.group(1)).items()
    }
    task_map = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "task" / "ner.yaml"))["label_map"]
    assert task_map == readme_map  # the task config maps every type exactly as the data README proposes
    for domain in ("ai", "politics"):  # small domains: every entity type of the files is mapped
        types = {
            tag[2:]
            for path in (data_dir / "ner" / domain).glob("*.jsonl")
            for line in path.open(encoding="utf-8")
            for tag in json.loads(line)["tags"]
            if tag != "O"
        }
        assert types == set(task_map[domain])
