"""Every run's `results.json` below a folder: the one walk the results tables and the sweep's exit code share.

A file that cannot be read (cut off, not JSON, not an object) is yielded with its problem instead of a
record, so each reader decides, visibly, what such a run means: the sweep callback counts it as failed,
the tables warn and leave it out. Evaluation folders (`<run>/eval/...`, written by eval.py) are not runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlp_transfer.results.record import RESULTS_FILE


@dataclass(frozen=True)
class RunFile:
    """One `results.json`: its record, or why it could not be read."""

    path: Path
    record: dict[str, Any] | None
    problem: str | None = None

    @property
    def run_dir(self) -> Path:
        return self.path.parent


def iter_run_files(root: str | Path) -> Iterator[RunFile]:
    """The `results.json` of every training run below `root`, in path order."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"No such folder: {root}")
    for path in sorted(root.rglob(RESULTS_FILE)):
        if "eval" in path.relative_to(root).parts[:-1]:
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            yield RunFile(path, None, f"unreadable results.json: {err}")
            continue
        if not isinstance(record, dict):
            yield RunFile(path, None, f"unreadable results.json: a {type(record).__name__}, not an object")
            continue
        yield RunFile(path, record)
