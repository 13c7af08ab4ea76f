"""Gather the `results.json` of every run under a folder (a sweep, or all of logs/) into rows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlp_transfer.results.record import RESULTS_FILE


@dataclass(frozen=True)
class RunRow:
    """One run: what it was (task, strategy, pair, seed) and how it ended (status, metrics)."""

    path: Path
    status: str
    task: str
    strategy: str
    backbone: str
    source: str
    target: str
    seed: int | None
    domains: tuple[str, ...]
    headline: str  # the task's headline metric name, e.g. "acc", "macro_f1", "f1"
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    wall_seconds: float | None = None

    @property
    def target_score(self) -> float | None:
        """The headline metric on the target test set (None unless the run succeeded)."""
        return self.metrics.get(f"target/test/{self.headline}") if self.status == "ok" else None

    @property
    def in_domain(self) -> bool:
        return self.source == self.target


def _row(path: Path, record: dict[str, Any]) -> RunRow:
    config = record.get("config", {})
    task_cfg = config.get("resolved", {}).get("task", {})
    selection = task_cfg.get("selection_metric", "source/val/acc")
    return RunRow(
        path=path.parent,
        status=record.get("status", "unknown"),
        task=config.get("task", "?"),
        strategy=config.get("strategy", "?"),
        backbone=config.get("backbone", "?"),
        source=config.get("source", "?"),
        target=config.get("target", "?"),
        seed=config.get("seed"),
        domains=tuple(task_cfg.get("domains", ())),
        headline=selection.rsplit("/", 1)[-1],
        metrics={k: v for k, v in (record.get("metrics") or {}).items() if isinstance(v, (int, float))},
        error=record.get("error"),
        wall_seconds=(record.get("cost") or {}).get("wall_seconds"),
    )


def collect_runs(root: str | Path) -> list[RunRow]:
    """Every training run's record below `root` (evaluation folders and unreadable files are skipped)."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"No such folder: {root}")
    rows = []
    for path in sorted(root.rglob(RESULTS_FILE)):
        if "eval" in path.relative_to(root).parts[:-1]:
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        rows.append(_row(path, record))
    return rows
