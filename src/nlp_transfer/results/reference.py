"""Published numbers beside ours, and a drift check of a sweep against the project's committed runs.

A reference file (benchmarks/reference/<task>_<benchmark>.yaml) holds `published` rows — method, paper
and table, backbone and split, per-pair and average scores — printed for orientation only (other features,
splits and selection: never like-for-like), and `committed`: runs.csv files of this project's own
benchmark runs. A cell of the sweep under test *drifted* when its mean over k seeds differs from the
committed mean over n seeds by more than seed noise explains: with s the method's pooled seed standard
deviation over all its committed cells (df degrees of freedom), |mean_k − mean_n| > t(0.975, df) · s ·
√(1/k + 1/n) (the two-sample t bound; a rerun of one cell with one seed uses k = 1). A method whose
committed cells all have one seed has no spread: its cells are reported, not judged.

Cells are matched on their *setting* too (results/setting.py; runs.csv's `setting` column): a sweep at
128 tokens is never judged against committed runs at 256, and a method's spread pools only cells of one
setting. A cell committed only in other settings is listed as such, not judged. Committed files from
before the column match on strategy, backbone and pair alone.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nlp_transfer.results.collect import RunRow
from nlp_transfer.results.setting import unlabelled
from nlp_transfer.results.stats import CONFIDENCE

EXAMPLE = "benchmarks/reference/sentiment_amazon.yaml"
CellKey = tuple[str, str, str, str, str]  # (strategy, backbone, source, target, setting id; '' unknown)
Committed = dict[CellKey, dict[int | None, float]]  # cell → {seed: target score}


class ReferenceError(ValueError):
    """The reference file is missing, malformed or names committed results that are not there."""


@dataclass(frozen=True)
class Drift:
    """One cell of the sweep under test against the committed runs of the same cell."""

    key: CellKey
    committed_mean: float
    committed_seeds: int
    mean: float
    seeds: int
    tolerance: float | None  # None: the method's committed cells have one seed each, no spread to judge by
    #: the cell was committed only in other settings: listed, never judged (means are of other settings)
    other_setting: bool = False
    name: str = ""  # the strategy as the sweep's table names it (with its setting label, if any)

    @property
    def drifted(self) -> bool:
        return self.tolerance is not None and abs(self.mean - self.committed_mean) > self.tolerance

    @property
    def verdict(self) -> str:
        if self.other_setting:
            return "not judged (committed in another setting)"
        if self.tolerance is None:
            return "not judged (one seed)"
        return "DRIFTED" if self.drifted else "ok"


def load_reference(path: Path, project_root: Path | None = None) -> dict[str, Any]:
    """The reference yaml, checked: `task`, `metric`, `published` rows, `committed` runs.csv paths
    (relative to `project_root`, default: the folder above `benchmarks/`)."""
    if not path.is_file():
        raise ReferenceError(f"--against {path}: no such file (e.g. {EXAMPLE})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ReferenceError(f"{path} is not valid YAML: {err}") from err
    missing = {"task", "metric", "published"} - set(data)
    if missing:
        raise ReferenceError(f"{path}: missing {sorted(missing)} (see {EXAMPLE})")
    for row in data["published"]:
        if not {"method", "paper", "backbone", "average"} <= set(row):
            raise ReferenceError(f"{path}: a published row needs method, paper, backbone and average: {row}")
    root = project_root or path.resolve().parent.parent.parent
    data["committed"] = [root / p for p in data.get("committed", [])]
    for csv_path in data["committed"]:
        if not csv_path.is_file():
            raise ReferenceError(f"{path}: committed results {csv_path} not found")
    return data


def committed_scores(csv_paths: list[Path], task: str) -> Committed:
    """Cell → {seed: target score} from committed runs.csv files (ok runs of `task` only)."""
    cells: dict[CellKey, dict[int | None, float]] = defaultdict(dict)
    for csv_path in csv_paths:
        with csv_path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["task"] == task and row["status"] == "ok" and row["target_score"]:
                    seed = int(row["seed"]) if row["seed"] else None
                    setting = row.get("setting") or ""
                    key = (
                        _base(row["strategy"], setting),
                        row["backbone"],
                        row["source"],
                        row["target"],
                        setting,
                    )
                    cells[key][seed] = float(row["target_score"])
    return dict(cells)


def _base(strategy: str, setting: str) -> str:
    """The strategy without the setting label a mixed folder adds (the setting id tells settings apart)."""
    return unlabelled(strategy) if setting else strategy


def pooled_spread(committed: Committed) -> dict[tuple[str, str, str], tuple[float, int]]:
    """(strategy, backbone, setting) → (pooled within-cell standard deviation over seeds, its degrees of
    freedom).

    Seed noise is a property of the method and budget more than of the pair, and two or three seeds per
    cell estimate it badly (two equal scores give 0), so every committed cell of the method shares one
    estimate: s² = Σ (n_i − 1) s_i² / Σ (n_i − 1), with Σ (n_i − 1) degrees of freedom.
    """
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0])
    for (strategy, backbone, _, _, setting), seeds in committed.items():
        if len(seeds) >= 2:
            total = sums[(strategy, backbone, setting)]
            total[0] += statistics.variance(seeds.values()) * (len(seeds) - 1)
            total[1] += len(seeds) - 1
    return {key: (math.sqrt(squares / df), int(df)) for key, (squares, df) in sums.items()}


def drift(rows: list[RunRow], committed: Committed) -> list[Drift]:
    """Every cell of `rows` that the committed runs also hold, judged against the method's seed spread in
    the same setting (a committed cell without a setting id matches any)."""
    from scipy import stats

    current: dict[CellKey, list[float]] = defaultdict(list)
    names: dict[CellKey, str] = {}
    for row in rows:
        if row.target_score is not None:
            setting = row.setting_id
            key = (_base(row.strategy, setting), row.backbone, row.source, row.target, setting)
            current[key].append(row.target_score)
            names[key] = row.strategy
    spread = pooled_spread(committed)
    found = []
    for key in sorted(current):
        match = next((k for k in (key, (*key[:4], "")) if k in committed), None)
        scores = current[key]
        if match is None:
            others = [seeds for k, seeds in committed.items() if k[:4] == key[:4]]
            if others:
                reference = [score for seeds in others for score in seeds.values()]
                mean = statistics.fmean(reference)
                found.append(
                    Drift(key, mean, len(reference), statistics.fmean(scores), len(scores), None, True)
                )
            continue
        reference = list(committed[match].values())
        n, k = len(reference), len(scores)
        tolerance = None
        if (match[0], match[1], match[4]) in spread:
            sd, df = spread[(match[0], match[1], match[4])]
            tolerance = float(stats.t.ppf((1 + CONFIDENCE) / 2, df) * sd * math.sqrt(1 / k + 1 / n))
        found.append(
            Drift(
                key, statistics.fmean(reference), n, statistics.fmean(scores), k, tolerance, name=names[key]
            )
        )
    return found


def published_markdown(reference: dict[str, Any]) -> str:
    """The published rows: method, backbone, average, paper (and that they are not like-for-like)."""
    lines = [
        f"### Published results ({reference['task']}, {reference['metric']}): orientation, not like-for-like",
        "",
        "| method | backbone / features | average | pairs given | source |",
        "|---|---|---|---|---|",
    ]
    for row in reference["published"]:
        pairs = len(row.get("pairs") or {}) or "—"
        cells = [row["method"], row["backbone"], f"{row['average']:.3f}", str(pairs), row["paper"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def drift_markdown(drifts: list[Drift]) -> str:
    """Each compared cell: committed mean (n), this sweep's mean (k), the tolerance and the verdict."""
    if not drifts:
        return "No cell of this sweep is among the committed runs: nothing to check for drift.\n"
    lines = [
        "### Against the committed runs (drift: moved beyond seed noise)",
        "",
        "| strategy | backbone | pair | committed (n) | this sweep (k) | tolerance | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in drifts:
        strategy, backbone, source, target, _ = d.key
        strategy = d.name or strategy
        tolerance = "—" if d.tolerance is None else f"±{d.tolerance:.4f}"
        lines.append(
            f"| {strategy} | {backbone} | {source} → {target} | {d.committed_mean:.4f} ({d.committed_seeds}) "
            f"| {d.mean:.4f} ({d.seeds}) | {tolerance} | {d.verdict} |"
        )
    return "\n".join(lines) + "\n"
