"""The tables a paper prints: all runs as CSV, and per task strategies × domain pairs in Markdown.

Cross-domain pairs (source ≠ target) and their average form the main table, as in the domain-adaptation
literature (e.g. Ganin et al. 2016, Table 1); the in-domain diagonal is a separate upper reference, and
the transfer gap is its average minus the cross-domain average. Several seeds give mean ± std. Failed
runs show as `failed` and absent ones as `—`: never as zeros. Cells cut from one run tested on every
domain (`evaluate_on=all_domains`) are ordinary cells; a note under the table and `evaluated_from` in the
CSV say so.
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from pathlib import Path

from nlp_transfer.results.collect import RunRow

CSV_FIELDS = [
    "task", "strategy", "backbone", "source", "target", "seed", "status", "headline",
    "target_score", "source_val", "wall_seconds", "error", "path", "evaluated_from",
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
                }
            )  # fmt: skip
    return path


def row_label(row: RunRow, backbones: set[str]) -> str:
    """Strategy name, with the backbone when a sweep compares several."""
    return f"{row.strategy} ({row.backbone})" if len(backbones) > 1 else row.strategy


class Cell:
    """The runs of one (strategy, source, target): their scores, or why there are none."""

    def __init__(self, runs: list[RunRow]) -> None:
        self.scores = [r.target_score for r in runs if r.target_score is not None]
        self.failed = sum(r.status != "ok" for r in runs)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.scores) if self.scores else None

    def text(self) -> str:
        if not self.scores:
            return "failed" if self.failed else "—"
        text = f"{self.mean:.4f}"
        if len(self.scores) > 1:
            text += f" ± {statistics.stdev(self.scores):.4f}"
        if self.failed:
            text += f" ({self.failed} failed)"
        return text


def task_grid(rows: list[RunRow], task: str) -> tuple[list[str], list[str], dict[tuple[str, str, str], Cell]]:
    """(row labels, domains in task order, {(label, source, target): cell}) for one task."""
    task_rows = [r for r in rows if r.task == task]
    backbones = {r.backbone for r in task_rows}
    grouped: dict[tuple[str, str, str], list[RunRow]] = defaultdict(list)
    for r in task_rows:
        grouped[(row_label(r, backbones), r.source, r.target)].append(r)
    declared = next((r.domains for r in task_rows if r.domains), ())
    seen = {d for r in task_rows for d in (r.source, r.target)}
    domains = [d for d in declared if d in seen] + sorted(seen - set(declared))
    labels = sorted({key[0] for key in grouped})
    return labels, domains, {key: Cell(runs) for key, runs in grouped.items()}


def _average(cells: list[Cell | None]) -> str:
    means = [c.mean for c in cells if c is not None and c.mean is not None]
    complete = len(means) == len(cells)
    return f"{statistics.fmean(means):.4f}" + ("" if complete else "*") if means else "—"


def markdown_table(rows: list[RunRow], task: str) -> str:
    """Cross-domain table (+ average), the in-domain diagonal, and the transfer gap, for one task."""
    labels, domains, cells = task_grid(rows, task)
    headline = next(r.headline for r in rows if r.task == task)
    pairs = [
        (s, t) for s in domains for t in domains if s != t and any((lab, s, t) in cells for lab in labels)
    ]
    lines = [f"### {task}: target/test/{headline}", ""]
    lines.append("| strategy | " + " | ".join(f"{s} → {t}" for s, t in pairs) + " | average |")
    lines.append("|---" * (len(pairs) + 2) + "|")
    for label in labels:
        row = [cells.get((label, s, t)) for s, t in pairs]
        texts = [c.text() if c else "—" for c in row]
        lines.append(f"| {label} | " + " | ".join(texts) + f" | {_average(row) if pairs else '—'} |")
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
            in_means = [c.mean for c in row if c and c.mean is not None]
            cross_means = [c.mean for c in cross if c and c.mean is not None]
            gap = (
                f"{statistics.fmean(in_means) - statistics.fmean(cross_means):+.4f}"
                if in_means and cross_means
                else "—"
            )
            texts = [c.text() if c else "—" for c in row]
            lines.append(f"| {label} | " + " | ".join(texts) + f" | {_average(row)} | {gap} |")
    lines += [
        "",
        "`failed`: the run raised (see runs.csv); `—`: not run; `*`: average over the cells present.",
    ]
    backbones = {r.backbone for r in rows if r.task == task}
    shared = sorted({row_label(r, backbones) for r in rows if r.task == task and r.evaluated_from})
    if shared:
        lines.append(
            f"{', '.join(shared)}: trained once per source (and seed) and tested on every domain "
            "(`evaluate_on=all_domains`), so the cells of one source come from one run (`evaluated_from` "
            "in runs.csv)."
        )
    return "\n".join(lines) + "\n"
