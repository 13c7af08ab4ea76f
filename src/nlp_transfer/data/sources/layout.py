"""Writing prepared splits in the project's JSONL layout: ``<out>/<task>/<domain>/<split>.jsonl``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SPLITS = ("train", "validation", "test")


def text_record(text: str, label: str) -> dict[str, str]:
    """One classification example; key order fixed so output files are byte-stable."""
    return {"text": text, "label": label}


def write_jsonl(path: Path, records: Sequence[Mapping[str, Any]]) -> Path:
    """Writes one JSON object per line, UTF-8 as-is (no ``\\u`` escapes), ``\\n`` line ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def write_domain(
    out: Path, task: str, domain: str, splits: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[Path]:
    """Writes the three split files of one domain; refuses an incomplete or empty split set."""
    missing = [name for name in SPLITS if name not in splits]
    if missing:
        raise ValueError(f"{task}/{domain}: splits {missing} were not built")
    return [write_jsonl(Path(out, task, domain, f"{name}.jsonl"), splits[name]) for name in SPLITS]
