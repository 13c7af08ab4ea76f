"""`nlp-transfer validators <sweep dir>`: how well each label-free validator tracks target accuracy.

Every run trained with `selection=default` records, in results.json under `selection.points`, one row per
validation point: each validator's score and the target test metric at that point (oracle-only: it is
recorded to judge the validators afterwards and never chooses anything; callbacks/validator_selection.py).
This report reads those rows from every run below a folder, whatever validators the runs held (their names
and directions come from the records, `selection.directions`), and measures each validator
(results/validator_meta.py):

- per run: weighted Spearman ρ_w and selection regret over that run's validation points (checkpoints);
- per pair: the same over the pooled points of every run of one (task, backbone, source, target) pair
  (strategies, hyperparameters, seeds): the regret of choosing among runs and checkpoints with the validator.

Writes validators.csv (one row per validator and run or pair), validators.md (per task: means over pairs and
runs) and validators_<task>.png. numpy/scipy/matplotlib only.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlp_transfer.results.record import RecordError, RunRecord, validation_points
from nlp_transfer.results.run_files import iter_run_files
from nlp_transfer.results.validator_meta import (
    DEFAULT_POWER,
    oriented,
    selection_regret,
    spearman,
    weighted_spearman,
)

CSV_NAME, MARKDOWN_NAME = "validators.csv", "validators.md"
CSV_FIELDS = [
    "scope", "task", "backbone", "source", "target", "run", "validator", "direction", "target_metric",
    "points", "weighted_spearman", "spearman", "regret", "oracle", "picked",
]  # fmt: skip


@dataclass(frozen=True)
class RunPoints:
    """One run's validation points: the target metric at each and each validator's raw score (NaN: none)."""

    path: Path
    task: str
    backbone: str
    strategy: str
    source: str
    target: str
    target_metric: str
    targets: np.ndarray
    scores: dict[str, np.ndarray]
    directions: dict[str, str]
    #: what training the run cost (`cost.wall_seconds`), for the sweep's size in the report; None: unrecorded
    wall_seconds: float | None = None

    @property
    def pair(self) -> tuple[str, str, str, str]:
        return self.task, self.backbone, self.source, self.target

    def oriented(self, validator: str) -> np.ndarray:
        """The validator's scores with higher = better."""
        return oriented(list(self.scores[validator]), self.directions[validator] == "max")


def run_points(path: Path, raw: dict[str, Any]) -> RunPoints | str:
    """A run's points from its results.json, or why it has none usable (not ok, no selection table)."""
    try:
        record = RunRecord.from_dict(raw)
    except RecordError as err:
        return f"unreadable record: {err}"
    found = validation_points(raw)
    if isinstance(found, str):
        return found
    if not found.directions:
        return "no validation points (trained with selection=none, or an older record)"
    metric, directions = found.target_metric, found.directions
    points = [p for p in found.rows if isinstance(p.get(metric), (int, float)) and math.isfinite(p[metric])]
    if not points:
        return f"no point with a {metric} value"
    scores = {
        name: np.array([np.nan if p.get(name) is None else float(p[name]) for p in points])
        for name in directions
    }
    config = record.config
    return RunPoints(
        path.parent, config.task, config.backbone, config.strategy, config.source, config.target, metric,
        np.array([float(p[metric]) for p in points]), scores, dict(directions), record.cost.wall_seconds,
    )  # fmt: skip


def load_runs(*roots: Path) -> tuple[list[RunPoints], list[tuple[Path, str]]]:
    """Every run below the `roots` with validation points, and (folder, why) for those without. A run met
    twice (the same fingerprint, e.g. a benchmark's committed copy beside its sweep folder) counts once."""
    runs: list[RunPoints] = []
    skipped: list[tuple[Path, str]] = []
    seen: dict[str, Path] = {}
    for run_file in (found for root in roots for found in iter_run_files(root)):
        fingerprint = (run_file.record or {}).get("fingerprint")
        if isinstance(fingerprint, str) and fingerprint in seen:
            skipped.append((run_file.run_dir, f"the same run as {seen[fingerprint]}"))
            continue
        found = run_points(run_file.path, run_file.record) if run_file.record else str(run_file.problem)
        if isinstance(found, str):
            skipped.append((run_file.run_dir, found))
            continue
        runs.append(found)
        if isinstance(fingerprint, str):
            seen[fingerprint] = run_file.run_dir
    return runs, skipped


def measure(
    scope: str, runs: list[RunPoints], validator: str, power: float, run: str = ""
) -> dict[str, Any] | None:
    """One CSV row: the validator over the pooled points of `runs` (None if no run recorded it)."""
    held = [r for r in runs if validator in r.scores]
    if not held:
        return None
    scores = np.concatenate([r.oriented(validator) for r in held])
    targets = np.concatenate([r.targets for r in held])
    regret = selection_regret(scores, targets)
    first = held[0]
    return {
        "scope": scope, "task": first.task, "backbone": first.backbone, "source": first.source,
        "target": first.target, "run": run, "validator": validator,
        "direction": first.directions[validator], "target_metric": first.target_metric,
        "points": len(targets), "weighted_spearman": weighted_spearman(scores, targets, power),
        "spearman": spearman(scores, targets), "regret": regret,
        "oracle": float(targets.max()), "picked": float(targets.max()) - regret,
    }  # fmt: skip


def meta_rows(runs: list[RunPoints], power: float = DEFAULT_POWER) -> list[dict[str, Any]]:
    """Rows for every validator: one per run (scope `run`) and one per domain pair (scope `pair`)."""
    validators = sorted({name for run in runs for name in run.directions})
    pairs: dict[tuple[str, ...], list[RunPoints]] = defaultdict(list)
    for run in runs:
        pairs[run.pair].append(run)
    rows = []
    for validator in validators:
        for key in sorted(pairs):
            rows.append(measure("pair", pairs[key], validator, power))
        for run in runs:
            rows.append(measure("run", [run], validator, power, run=str(run.path)))
    return [row for row in rows if row is not None]


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def summary(rows: list[dict[str, Any]], task: str) -> list[dict[str, Any]]:
    """Per validator of one task: means over pairs (ρ_w, ρ, sweep regret) and over runs (ρ_w, regret)."""
    out = []
    for validator in sorted({r["validator"] for r in rows if r["task"] == task}):
        mine = [r for r in rows if r["task"] == task and r["validator"] == validator]
        pair = [r for r in mine if r["scope"] == "pair"]
        run = [r for r in mine if r["scope"] == "run"]
        out.append({
            "validator": validator, "direction": mine[0]["direction"],
            "pair_weighted_spearman": _mean([r["weighted_spearman"] for r in pair]),
            "pair_spearman": _mean([r["spearman"] for r in pair]),
            "pair_regret": _mean([r["regret"] for r in pair]),
            "run_weighted_spearman": _mean([r["weighted_spearman"] for r in run]),
            "run_regret": _mean([r["regret"] for r in run]),
            "run_regret_max": max((r["regret"] for r in run if math.isfinite(r["regret"])), default=math.nan),
            "pairs": len(pair), "runs": len(run), "points": sum(r["points"] for r in pair),
        })  # fmt: skip
    return out


def _num(value: float, signed: bool = False) -> str:
    return "—" if not math.isfinite(value) else (f"{value:+.3f}" if signed else f"{value:.4f}")


def sweep_cost(runs: list[RunPoints], task: str) -> str:
    """The size of the sweep in time for one task: the sum of its runs' `cost.wall_seconds` (on one machine,
    one run after another, how long the sweep took), and how many runs recorded it."""
    mine = [run for run in runs if run.task == task]
    timed = [run.wall_seconds for run in mine if run.wall_seconds is not None]
    if not timed:
        return "Training time: not recorded."
    total = sum(timed)
    hours, minutes = divmod(round(total / 60), 60)
    return (
        f"Training time: {hours} h {minutes:02d} min, the sum of `cost.wall_seconds` over {len(timed)} of "
        f"{len(mine)} runs (the sweep's wall time where they ran one after another; runs trained side by "
        "side each count their own wall time)."
    )


def markdown(rows: list[dict[str, Any]], runs: list[RunPoints] | None = None) -> str:
    """One table per task, validators by descending pair-level ρ_w; with `runs`, the sweep's wall time."""
    parts = []
    for task in sorted({r["task"] for r in rows}):
        lines = summary(rows, task)
        lines.sort(
            key=lambda s: (not math.isfinite(s["pair_weighted_spearman"]), -s["pair_weighted_spearman"])
        )
        metric = next(r["target_metric"] for r in rows if r["task"] == task)
        first = lines[0] if lines else {"pairs": 0, "runs": 0, "points": 0}
        parts += [
            f"### {task}: validators against {metric}",
            "",
            f"{first['pairs']} pair(s), {first['runs']} run(s), {first['points']} validation points. "
            "ρ_w: weighted Spearman (Musgrave et al. 2022); regret: oracle minus picked target metric."
            + (f" {sweep_cost(runs, task)}" if runs is not None else ""),
            "",
            "| validator | better | ρ_w (pairs) | ρ (pairs) | regret (pairs) | ρ_w (runs) | regret (runs) "
            "| max regret (runs) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        parts += [
            f"| {s['validator']} | {s['direction']} | {_num(s['pair_weighted_spearman'], True)} | "
            f"{_num(s['pair_spearman'], True)} | {_num(s['pair_regret'])} | "
            f"{_num(s['run_weighted_spearman'], True)} | {_num(s['run_regret'])} | "
            f"{_num(s['run_regret_max'])} |"
            for s in lines
        ]
        parts.append("")
    return "\n".join(parts)


def write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def figure(rows: list[dict[str, Any]], task: str, out_dir: Path) -> Path:
    """Two panels per task: ρ_w per validator (pairs) and selection regret (pairs and runs)."""
    from nlp_transfer.results.plots import _pyplot, save_figure

    plt = _pyplot()
    lines = summary(rows, task)
    names = [s["validator"] for s in lines]
    x = np.arange(len(names))
    fig, (left, right) = plt.subplots(1, 2, figsize=(max(6.0, 1.6 * len(names) + 3), 3.6))
    left.bar(x, [s["pair_weighted_spearman"] for s in lines], color="tab:blue")
    left.axhline(0.0, color="black", linewidth=0.8)
    left.set_ylim(-1, 1)
    left.set_title("weighted Spearman ρ_w (per pair)")
    right.bar(x - 0.2, [s["pair_regret"] for s in lines], width=0.4, label="choose among runs (pair)")
    right.bar(x + 0.2, [s["run_regret"] for s in lines], width=0.4, label="choose a checkpoint (run)")
    right.set_title("selection regret (oracle − picked)")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.set_xticks(x, names, rotation=30, ha="right")
    metric = next(r["target_metric"] for r in rows if r["task"] == task)
    fig.suptitle(f"{task}: label-free validators against {metric} (oracle-only)")
    return save_figure(fig, out_dir / f"validators_{task}.png")


def build_validator_report(
    sweep_dir: Path | list[Path],
    out_dir: Path | None = None,
    power: float = DEFAULT_POWER,
    plots: bool = True,
) -> tuple[dict[str, list[Path]], list[tuple[Path, str]]]:
    """Write validators.csv, validators.md and the figures; returns the files per kind and skipped runs.
    Several sweep folders are pooled (written into the first unless `out_dir` is given)."""
    roots = sweep_dir if isinstance(sweep_dir, list) else [sweep_dir]
    runs, skipped = load_runs(*roots)
    if not runs:
        raise FileNotFoundError(
            f"No run under {', '.join(map(str, roots))} recorded validation points (selection.points in "
            "results.json); train with selection=default (the default) to record them."
        )
    out_dir = out_dir or roots[0]
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = meta_rows(runs, power)
    written = {
        "csv": [write_csv(rows, out_dir / CSV_NAME)],
        "markdown": [out_dir / MARKDOWN_NAME],
        "figures": [],
    }
    (out_dir / MARKDOWN_NAME).write_text(markdown(rows, runs), encoding="utf-8")
    if plots:
        written["figures"] = [figure(rows, task, out_dir) for task in sorted({r["task"] for r in rows})]
    return written, skipped
