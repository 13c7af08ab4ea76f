"""Gather the `results.json` of every run under a folder (a sweep, or all of logs/) into rows.

A run with `evaluate_on=all_domains` (a source-only strategy tested on every domain) becomes one row per
tested domain, each marked with `evaluated_from` = that one run, so a sweep that trained once per source
still fills every (source, target) cell of the tables.

Runs of one strategy in several settings (e.g. two loss weights) are told apart by the keys that differ,
added to the strategy name (results/setting.py), so they are never pooled as if they were seeds.

A run whose record cannot stand for a cell is never a row: an unreadable file, a record without its
config (task, strategy, pair) or an `ok` without its headline metric is *incomplete*, and a job still marked
`running` (or killed before it could record its end) is *running*. Both are returned beside the rows, so
a report lists them and can refuse to pass for complete; they never become a `?` task or a `—` cell.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from nlp_transfer.results.domain_metrics import all_domains_of, domain_metrics, split_domain_metric
from nlp_transfer.results.record import RecordError, RunRecord
from nlp_transfer.results.run_files import RunFile, iter_run_files
from nlp_transfer.results.setting import Setting, setting_id, setting_of, split_by_setting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncompleteRun:
    """A run that is no row of the tables: its folder, `unreadable`, `incomplete` or `running`, and why."""

    path: Path
    status: str
    problem: str


@dataclass(frozen=True)
class RunCollection:
    """The rows of the tables, and the runs that could not become rows."""

    rows: list[RunRow]
    incomplete: list[IncompleteRun]


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
    #: what the run's cell pools over seeds (results/setting.py); None for a record without its config
    setting: Setting | None = field(default=None, compare=False, repr=False)

    @property
    def setting_id(self) -> str:
        """12 hex digits naming the setting ('' when unknown), written to runs.csv."""
        return setting_id(self.setting)

    @property
    def target_score(self) -> float | None:
        """The headline metric on the target test set (None unless the run succeeded)."""
        return self.metrics.get(f"target/test/{self.headline}") if self.status == "ok" else None

    @property
    def in_domain(self) -> bool:
        return self.source == self.target


def record_problem(record: RunRecord) -> tuple[str, str] | None:
    """(`running` or `incomplete`, why) for a record that cannot be a table row; None for one that can."""
    if record.status == "running":
        return "running", "status running: still running, or killed before it could record its end"
    if record.status not in ("ok", "failed"):
        return "incomplete", f"status {record.status!r} is neither ok nor failed"
    if record.status == "failed":
        return None
    if not record.metrics:
        return "incomplete", "status ok but no metrics"
    headline = record.config.headline
    if record.config.evaluate_on == "all_domains":
        if not any(headline in tested for tested in domain_metrics(record.metrics).values()):
            return "incomplete", f"status ok but no domains/<domain>/test/{headline} metric"
    elif record.metric(f"target/test/{headline}") is None:
        return "incomplete", f"status ok but no target/test/{headline} metric"
    return None


def _row(path: Path, record: RunRecord) -> RunRow:
    config = record.config
    return RunRow(
        path=path.parent,
        status=record.status,
        task=config.task,
        strategy=config.strategy,
        backbone=config.backbone,
        source=config.source,
        target=config.target,
        seed=config.seed,
        domains=tuple((config.resolved.get("task") or {}).get("domains", ())),
        headline=config.headline,
        metrics={k: v for k, v in (record.metrics or {}).items() if isinstance(v, (int, float))},
        error=record.error,
        wall_seconds=record.cost.wall_seconds,
        setting=setting_of(config.resolved),
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


def _read(run_file: RunFile) -> tuple[RunRecord | None, tuple[str, str] | None]:
    """The run's record, or (kind, why) it is no table row: unreadable, incomplete or running."""
    if run_file.record is None:
        return None, ("unreadable", str(run_file.problem))
    try:
        record = RunRecord.from_dict(run_file.record)
    except RecordError as err:
        return None, ("incomplete", str(err))
    return record, record_problem(record)


def collect(root: str | Path) -> RunCollection:
    """Every training run below `root` as rows, or as incomplete runs (each warned about).

    Evaluation folders are skipped. Raises FileNotFoundError for a missing folder.
    """
    rows: list[RunRow] = []
    incomplete: list[IncompleteRun] = []
    for run_file in iter_run_files(root):
        record, problem = _read(run_file)
        if problem is not None:
            log.warning("Not in the tables: %s (%s: %s)", run_file.path, *problem)
            incomplete.append(IncompleteRun(run_file.run_dir, *problem))
            continue
        row = _row(run_file.path, record)
        rows += per_domain_rows(row) if record.config.evaluate_on == "all_domains" else [row]
    return RunCollection(split_by_setting(rows), incomplete)


def collect_runs(root: str | Path) -> list[RunRow]:
    """The table rows below `root` (incomplete runs are warned about and left out; see `collect`)."""
    return collect(root).rows
