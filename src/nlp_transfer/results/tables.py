"""The tables a paper prints: all runs as CSV, and per task strategies × domain pairs in Markdown.

Cross-domain pairs (source ≠ target) and their average form the main table, as in the domain-adaptation
literature (e.g. Ganin et al. 2016, Table 1); the in-domain diagonal is a separate upper reference, and
the transfer gap is its average minus the cross-domain average. Several seeds give mean ± the half-width
of a 95 % t-interval over seeds (results/stats.py); cells with fewer seeds than the rest show `(n=k)†`.
Failed runs show as `failed` and absent ones as `—`: never as zeros. Cells cut from one run tested on every
domain (`evaluate_on=all_domains`) are ordinary cells; a note under the table and `evaluated_from` in the
CSV say so.
Runs from pooled sources (`books+dvd+electronics`, multi-source adaptation) are not pairs: they fill a
table of their own under the main one (results/multi_source_table.py).
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from pathlib import Path

from nlp_transfer.results.collect import RunRow
from nlp_transfer.results.stats import Interval, t_interval
from nlp_transfer.source_domains import SEPARATOR

CSV_FIELDS = [
    "task", "strategy", "backbone", "source", "target", "seed", "status", "headline",
    "target_score", "source_val", "wall_seconds", "error", "path", "evaluated_from", "setting",
]  # fmt: skip


def write_csv(rows: list[RunRow], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    "task": row.task, "strategy": row.strategy, "backbone": row.backbone,
                    "source": row.source, "target": row.target, "seed": row.seed, "status": row.status,
                    "headline": row.headline, "target_score": row.target_score,
                    "source_val": row.metrics.get(f"source/val/{row.headline}"),
                    "wall_seconds": row.wall_seconds, "error": row.error, "path": str(row.path),
                    "evaluated_from": str(row.evaluated_from) if row.evaluated_from else "",
                    "setting": row.setting_id,
                }
            )  # fmt: skip
    return path


def row_label(row: RunRow, backbones: set[str]) -> str:
    """Strategy name, with the backbone when a sweep compares several."""
    return f"{row.strategy} ({row.backbone})" if len(backbones) > 1 else row.strategy


class Cell:
    """The runs of one (strategy, source, target): their scores per seed, or why there are none."""

    def __init__(self, runs: list[RunRow]) -> None:
        self.scores = [r.target_score for r in runs if r.target_score is not None]
        by_seed: dict[int | None, list[float]] = defaultdict(list)
        for r in runs:
            if r.target_score is not None:
                by_seed[r.seed].append(r.target_score)
        #: seed → score (the mean of repeats of one seed)
        self.seed_scores = {seed: statistics.fmean(values) for seed, values in by_seed.items()}
        self.failed = sum(r.status != "ok" for r in runs)

    @property
    def seeds(self) -> int:
        return len(self.seed_scores)

    @property
    def interval(self) -> Interval | None:
        """Mean over seeds ± the 95 % t-interval (None without a score)."""
        return t_interval(list(self.seed_scores.values())) if self.seed_scores else None

    @property
    def mean(self) -> float | None:
        return self.interval.mean if self.seed_scores else None

    def text(self, most_seeds: int = 1) -> str:
        if not self.scores:
            return "failed" if self.failed else "—"
        text = interval_text(self.interval, most_seeds)
        if self.failed:
            text += f" ({self.failed} failed)"
        return text


def interval_text(interval: Interval, most_seeds: int, signed: bool = False) -> str:
    """`mean ± half-width`; `(n=k)†` when fewer seeds than the table's most; `(seeds differ)` for n=0."""
    text = f"{interval.mean:+.4f}" if signed else f"{interval.mean:.4f}"
    if interval.has_interval:
        text += f" ± {interval.half_width:.4f}"
    if interval.n == 0:
        text += " (seeds differ)"
    elif interval.n < most_seeds:
        text += f" (n={interval.n})†"
    return text


def seed_averages(cells: list[Cell | None]) -> dict[int | None, float] | None:
    """Seed → the average over the cells present, for the seeds every present cell has (None: no cell)."""
    present = [c for c in cells if c is not None and c.seed_scores]
    if not present:
        return None
    shared = set.intersection(*(set(c.seed_scores) for c in present))
    return {seed: statistics.fmean(c.seed_scores[seed] for c in present) for seed in shared}


def seedwise_interval(averages: dict[int | None, float], fallback: float) -> Interval:
    """The t-interval over seed-wise averages; `fallback` with n=0 when no seed is shared."""
    return t_interval(list(averages.values())) if averages else Interval(fallback, None, None, 0)


def task_grid(rows: list[RunRow], task: str) -> tuple[list[str], list[str], dict[tuple[str, str, str], Cell]]:
    """(row labels, domains in task order, {(label, source, target): cell}) for one task (single sources)."""
    task_rows = [r for r in rows if r.task == task and SEPARATOR not in r.source]
    backbones = {r.backbone for r in task_rows}
    grouped: dict[tuple[str, str, str], list[RunRow]] = defaultdict(list)
    for r in task_rows:
        grouped[(row_label(r, backbones), r.source, r.target)].append(r)
    declared = next((r.domains for r in task_rows if r.domains), ())
    seen = {d for r in task_rows for d in (r.source, r.target)}
    domains = [d for d in declared if d in seen] + sorted(seen - set(declared))
    labels = sorted({key[0] for key in grouped})
    return labels, domains, {key: Cell(runs) for key, runs in grouped.items()}


def _means(cells: list[Cell | None]) -> list[float]:
    return [c.mean for c in cells if c is not None and c.mean is not None]


def _average(cells: list[Cell | None], most_seeds: int) -> str:
    """Seed-wise average over the cells (each seed's average first, then the interval); `*`: cells missing."""
    averages = seed_averages(cells)
    if averages is None:
        return "—"
    means = _means(cells)
    text = interval_text(seedwise_interval(averages, statistics.fmean(means)), most_seeds)
    return text + ("" if len(means) == len(cells) else "*")


def _gap(in_domain: list[Cell | None], cross: list[Cell | None], most_seeds: int) -> str:
    """In-domain minus cross-domain average, seed by seed, then the interval."""
    inside, outside = seed_averages(in_domain), seed_averages(cross)
    if inside is None or outside is None:
        return "—"
    per_seed = {seed: inside[seed] - outside[seed] for seed in set(inside) & set(outside)}
    fallback = statistics.fmean(_means(in_domain)) - statistics.fmean(_means(cross))
    return interval_text(seedwise_interval(per_seed, fallback), most_seeds, signed=True)


def markdown_table(rows: list[RunRow], task: str) -> str:
    """Cross-domain table (+ average), the in-domain diagonal, and the transfer gap, for one task."""
    labels, domains, cells = task_grid(rows, task)
    headline = next(r.headline for r in rows if r.task == task)
    most = max((c.seeds for c in cells.values()), default=1)
    pairs = [
        (s, t) for s in domains for t in domains if s != t and any((lab, s, t) in cells for lab in labels)
    ]
    lines = [f"### {task}: target/test/{headline}", ""]
    lines.append("| strategy | " + " | ".join(f"{s} → {t}" for s, t in pairs) + " | average |")
    lines.append("|---" * (len(pairs) + 2) + "|")
    for label in labels:
        row = [cells.get((label, s, t)) for s, t in pairs]
        texts = [c.text(most) if c else "—" for c in row]
        lines.append(f"| {label} | " + " | ".join(texts) + f" | {_average(row, most) if pairs else '—'} |")
    diagonal = [d for d in domains if any((lab, d, d) in cells for lab in labels)]
    if diagonal:
        lines += [
            "",
            "In-domain (source = target), the upper reference; gap = in-domain − cross-domain average:",
            "",
        ]
        lines.append("| strategy | " + " | ".join(diagonal) + " | average | gap |")
        lines.append("|---" * (len(diagonal) + 3) + "|")
        for label in labels:
            row = [cells.get((label, d, d)) for d in diagonal]
            cross = [cells.get((label, s, t)) for s, t in pairs]
            texts = [c.text(most) if c else "—" for c in row]
            gap = _gap(row, cross, most)
            lines.append(f"| {label} | " + " | ".join(texts) + f" | {_average(row, most)} | {gap} |")
    lines += [
        "",
        "`failed`: the run raised (see runs.csv); `—`: not run; `*`: average over the cells present.",
        f"Mean ± 95 % t-interval over seeds (n={most} per cell"
        + ("; one seed gives no interval" if most == 1 else "")
        + "); averages and the gap take each seed's average over the pairs first, then the interval.",
    ]
    if any(c.seeds < most for c in cells.values() if c.seeds):
        lines.append(f"†: fewer seeds than the other cells (n={most}); `seeds differ`: no seed in all cells.")
    backbones = {r.backbone for r in rows if r.task == task}
    shared = sorted({row_label(r, backbones) for r in rows if r.task == task and r.evaluated_from})
    if shared:
        lines.append(
            f"{', '.join(shared)}: trained once per source (and seed) and tested on every domain "
            "(`evaluate_on=all_domains`), so the cells of one source come from one run (`evaluated_from` "
            "in runs.csv)."
        )
    from nlp_transfer.results.multi_source_table import multi_source_markdown  # it builds on this module

    return "\n".join(lines) + "\n" + multi_source_markdown(rows, task, most)
