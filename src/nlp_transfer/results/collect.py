"""Gather the `results.json` of every run under a folder (a sweep, or all of logs/) into rows.

A run with `evaluate_on=all_domains` (a source-only strategy tested on every domain) becomes one row per
tested domain, each marked with `evaluated_from` = that one run, so a sweep that trained once per source
still fills every (source, target) cell of the tables.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nlp_transfer.results.domain_metrics import all_domains_of, domain_metrics, split_domain_metric
from nlp_transfer.results.run_files import iter_run_files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunRow:
    """One (run, target) cell: what it was (task, strategy, pair, seed) and how it ended (status, metrics)."""

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
    #: the run this row was cut from when one run was tested on every domain (evaluate_on=all_domains)
    evaluated_from: Path | None = None

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


def per_domain_rows(run: RunRow) -> list[RunRow]:
    """An all-domains run as one row per tested domain (target/test/* = that domain's test metrics).

    A failed run yields a failed row for every domain it was to test, so its cells read `failed`.
    """
    tested = domain_metrics(run.metrics)
    domains = list(tested) if run.status == "ok" else all_domains_of(run.domains, run.source, run.target)
    shared = {
        k: v for k, v in run.metrics.items() if not (k.startswith("target/test/") or split_domain_metric(k))
    }
    return [
        replace(
            run,
            target=domain,
            metrics=shared | {f"target/test/{name}": value for name, value in tested.get(domain, {}).items()},
            evaluated_from=run.path,
        )
        for domain in domains
    ]


def collect_runs(root: str | Path) -> list[RunRow]:
    """Every training run's rows below `root` (evaluation folders skipped; unreadable files warned about)."""
    rows = []
    for run_file in iter_run_files(root):
        if run_file.record is None:
            log.warning("Skipping %s: %s", run_file.path, run_file.problem)
            continue
        row = _row(run_file.path, run_file.record)
        all_domains = (run_file.record.get("config") or {}).get("evaluate_on") == "all_domains"
        rows += per_domain_rows(row) if all_domains else [row]
    return rows
