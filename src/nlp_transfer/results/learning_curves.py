"""Learning curves from a sweep: source validation and target test against training steps, over seeds.

Every run with `selection=default` records one row per validation point (`selection.points`: the step, the
source-validation metric as `source_val`, and the target test metric for the oracle). The seeds of one
strategy on one pair in one setting (results/setting.py; a strategy in several settings gets one curve per
setting, named with the keys that differ) share steps; each curve is the mean over seeds with its 95 %
t-interval at every step all seeds reached.

A budget is read off the SOURCE-validation curve only (the target curve is drawn for the record): the
*plateau step* is the first step whose mean source-validation score is within `tolerance` (default half
a point) of the curve's best.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlp_transfer.results.record import validation_points
from nlp_transfer.results.run_files import iter_run_files
from nlp_transfer.results.setting import labelled, setting_labels, setting_of
from nlp_transfer.results.stats import Interval, t_interval

PLATEAU_TOLERANCE = 0.005
CurveKey = tuple[str, str, str, str, str]  # (task, backbone, strategy, source, target)


@dataclass
class Curve:
    """One strategy on one pair: per seed, step → (source-validation score, target test score)."""

    key: CurveKey
    target_metric: str
    seeds: dict[int | None, dict[int, tuple[float, float | None]]] = field(default_factory=dict)

    def steps(self) -> list[int]:
        """Steps every seed reached, in order."""
        common = set.intersection(*(set(points) for points in self.seeds.values()))
        return sorted(common)

    def at(self, step: int, which: int) -> Interval | None:
        """Mean ± t-interval over seeds at `step` of the source (0) or target (1) score."""
        values = [points[step][which] for points in self.seeds.values() if points[step][which] is not None]
        return t_interval(values) if values else None

    def plateau_step(self, tolerance: float = PLATEAU_TOLERANCE) -> int | None:
        """First step whose mean source-validation score is within `tolerance` of the best mean."""
        means = [(step, interval.mean) for step in self.steps() if (interval := self.at(step, 0))]
        if not means:
            return None
        best = max(mean for _, mean in means)
        return next(step for step, mean in means if mean >= best - tolerance)


def collect_curves(root: Path) -> list[Curve]:
    """Every (strategy, pair, setting) curve of the finished runs below `root` that recorded validation
    points."""
    found_runs = []
    for run_file in iter_run_files(root):
        record = run_file.record or {}
        found = validation_points(record)
        if not isinstance(found, str):
            found_runs.append((record.get("config") or {}, found))
    labels = setting_labels(
        [
            (
                tuple(str(config.get(k)) for k in ("task", "strategy", "backbone")),
                setting_of(config.get("resolved")),
            )
            for config, _ in found_runs
        ]
    )
    curves: dict[CurveKey, Curve] = {}
    for (config, found), text in zip(found_runs, labels, strict=True):
        task, backbone, strategy, source, target = (
            str(config.get(k)) for k in ("task", "backbone", "strategy", "source", "target")
        )
        key = (task, backbone, labelled(strategy, text), source, target)
        curve = curves.setdefault(key, Curve(key, found.target_metric))
        scored = [p for p in found.rows if p.get("source_val") is not None]
        by_step = {int(p["step"]): (float(p["source_val"]), p.get(found.target_metric)) for p in scored}
        curve.seeds[config.get("seed")] = by_step
    return [curves[key] for key in sorted(curves)]


def curve_rows(curves: list[Curve]) -> list[dict[str, Any]]:
    """One CSV row per curve and step: means and interval bounds of both scores, and the seed count."""
    rows = []
    for curve in curves:
        task, backbone, strategy, source, target = curve.key
        for step in curve.steps():
            row: dict[str, Any] = {"task": task, "backbone": backbone, "strategy": strategy, "source": source,
                                   "target": target, "step": step, "seeds": len(curve.seeds)}  # fmt: skip
            for name, which in (("source_val", 0), ("target_test", 1)):
                interval = curve.at(step, which)
                row[name] = interval.mean if interval else None
                row[f"{name}_low"] = interval.low if interval else None
                row[f"{name}_high"] = interval.high if interval else None
            rows.append(row)
    return rows


def plateau_markdown(curves: list[Curve], tolerance: float = PLATEAU_TOLERANCE) -> str:
    """Per curve: the plateau step, the best and last source-validation means, target test at both."""
    lines = [
        f"Plateau step: first step whose mean source-validation score is within {tolerance:.3f} of its best "
        "(mean over seeds; target test shown for the record, never used to choose).",
        "",
        "| strategy | pair | seeds | last step | plateau step | source val at plateau | best source val | "
        "target test at plateau | target test at last step |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for curve in curves:
        _, _, strategy, source, target = curve.key
        steps, plateau = curve.steps(), curve.plateau_step(tolerance)
        if not steps or plateau is None:
            continue
        best = max(i.mean for s in steps if (i := curve.at(s, 0)))
        cells = [_mean(curve.at(plateau, 0)), f"{best:.4f}", _mean(curve.at(plateau, 1))]
        cells.append(_mean(curve.at(steps[-1], 1)))
        lines.append(f"| {strategy} | {source} → {target} | {len(curve.seeds)} | {steps[-1]} | {plateau} | "
                     + " | ".join(cells) + " |")  # fmt: skip
    return "\n".join(lines) + "\n"


def _mean(interval: Interval | None) -> str:
    if interval is None:
        return "—"
    return f"{interval.mean:.4f}" + (f" ± {interval.half_width:.4f}" if interval.has_interval else "")


def write_curves(curves: list[Curve], out_dir: Path, plots: bool = True) -> list[Path]:
    """curves.csv, curves.md and (with `plots`) learning_curves.png in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = curve_rows(curves)
    csv_path = out_dir / "curves.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["task"])
        writer.writeheader()
        writer.writerows(rows)
    md_path = out_dir / "curves.md"
    md_path.write_text(plateau_markdown(curves), encoding="utf-8")
    written = [csv_path, md_path]
    if plots and rows:
        written.append(_figure(curves, out_dir / "learning_curves.png"))
    return written


def _figure(curves: list[Curve], path: Path) -> Path:
    """One row of panels per pair (source validation | target test), one line per strategy with its band."""
    from nlp_transfer.results.plots import _pyplot, save_figure

    plt = _pyplot()
    by_pair: dict[tuple[str, str], list[Curve]] = defaultdict(list)
    for curve in curves:
        by_pair[(curve.key[3], curve.key[4])].append(curve)
    fig, axes = plt.subplots(len(by_pair), 2, figsize=(11, 3.4 * len(by_pair)), squeeze=False)
    for row, ((source, target), pair_curves) in enumerate(sorted(by_pair.items())):
        panels = ((0, "source validation"), (1, "target test (not used to choose)"))
        for col, (which, title) in enumerate(panels):
            ax = axes[row][col]
            for curve in pair_curves:
                steps = [s for s in curve.steps() if curve.at(s, which)]
                stats = [curve.at(s, which) for s in steps]
                ax.plot(steps, [i.mean for i in stats], marker="o", markersize=3, label=curve.key[2])
                if all(i.has_interval for i in stats):
                    ax.fill_between(steps, [i.low for i in stats], [i.high for i in stats], alpha=0.15)
            ax.set_title(f"{source} → {target}: {title}")
            ax.set_xlabel("training step")
            ax.grid(alpha=0.3)
        axes[row][0].legend(fontsize=8)
    return save_figure(fig, path, dpi=110)
