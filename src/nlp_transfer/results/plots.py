"""Figures of a sweep: a source × target heatmap per task and strategy, strategies' averages, and each
strategy's difference to a baseline per pair (`nlp-transfer compare`)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from nlp_transfer.results.collect import RunRow
from nlp_transfer.results.tables import seed_averages, seedwise_interval, task_grid

if TYPE_CHECKING:
    from nlp_transfer.results.compare import DifferenceGrid


def color_range(values: list[float]) -> tuple[float, float]:
    """vmin, vmax fitted to the scores (a little margin), so differences of a few points stay visible."""
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    margin = max(0.01, 0.05 * (high - low))
    return max(0.0, low - margin), min(1.0, high + margin)


def file_stem(label: str) -> str:
    """A report label as a plain file name: `dann [strategy.domain_loss_weight=0.3]` →
    `dann_strategy.domain_loss_weight_0.3` (no spaces, brackets or `=` for shells and URLs to trip on)."""
    return re.sub(r"[^\w.-]+", "_", label).strip("_")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: object, path: Path, dpi: int = 120) -> Path:
    """Lay out, write and close a figure (every figure of the project goes out this way); returns `path`."""
    plt = _pyplot()
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def heatmaps(rows: list[RunRow], task: str, out_dir: Path) -> list[Path]:
    """One PNG per strategy: cell (source, target) = mean target score; failed, missing cells marked."""
    plt = _pyplot()
    labels, domains, cells = task_grid(rows, task)
    headline = next(r.headline for r in rows if r.task == task)
    written = []
    for label in labels:
        grid = [[math.nan] * len(domains) for _ in domains]
        fig, ax = plt.subplots(figsize=(1.4 * len(domains) + 2, 1.2 * len(domains) + 1.5))
        for i, source in enumerate(domains):
            for j, target in enumerate(domains):
                cell = cells.get((label, source, target))
                mean = cell.mean if cell else None
                if mean is not None:
                    grid[i][j] = mean
                note = f"{mean:.3f}" if mean is not None else ("failed" if cell and cell.failed else "—")
                ax.text(j, i, note, ha="center", va="center", fontsize=9)
        vmin, vmax = color_range([v for line in grid for v in line])
        image = ax.imshow(grid, cmap="viridis", vmin=vmin, vmax=vmax)
        ax.set_xticks(range(len(domains)), domains, rotation=30, ha="right")
        ax.set_yticks(range(len(domains)), domains)
        ax.set_xlabel("target")
        ax.set_ylabel("source")
        ax.set_title(f"{task} · {label} · target/test/{headline}")
        fig.colorbar(image, ax=ax)
        name = f"heatmap_{task}_{file_stem(label)}.png"
        written.append(save_figure(fig, out_dir / name))
    return written


def strategy_bars(rows: list[RunRow], task: str, out_dir: Path) -> Path:
    """Average cross-domain target score per strategy (seed-wise, over the pairs it completed), with the
    95 % t-interval over seeds as whiskers."""
    plt = _pyplot()
    labels, domains, cells = task_grid(rows, task)
    averages, errors = [], []
    for label in labels:
        row = [c for (lab, s, t), c in cells.items() if lab == label and s != t and c.mean is not None]
        per_seed = seed_averages(row)
        if per_seed is None:
            averages.append(0.0)
            errors.append(0.0)
            continue
        interval = seedwise_interval(per_seed, sum(c.mean for c in row) / len(row))
        averages.append(interval.mean)
        errors.append(interval.half_width or 0.0)
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 3, 3.5))
    ax.bar(labels, averages, yerr=errors, capsize=4, color="tab:blue")
    for x, value in enumerate(averages):
        ax.text(x, value, f"{value:.3f}", ha="center", va="bottom", fontsize=9)
    ax.set_ylim(0, 1)
    ax.set_ylabel("cross-domain average")
    ax.set_title(f"{task}: strategies, average target score")
    return save_figure(fig, out_dir / f"strategies_{task}.png")


def difference_heatmap(grid: DifferenceGrid, baseline: str, out_dir: Path) -> Path:
    """Strategies × pairs (+ the average): the mean difference to `baseline` on a diverging scale centred
    on 0 and fitted to the largest |Δ|; cells that are not significant (Holm over the strategy's pairs;
    the average's own p) are hatched, so a reader sees at once which gaps the test set supports."""
    import numpy as np
    from matplotlib.patches import Rectangle

    plt = _pyplot()
    rows, columns = grid.difference.shape
    finite = grid.difference[np.isfinite(grid.difference)]
    reach = max(0.01, float(np.abs(finite).max())) if finite.size else 0.01
    fig, ax = plt.subplots(figsize=(1.3 * columns + 3, 0.45 * rows + 2))
    image = ax.imshow(grid.difference, cmap="RdBu", vmin=-reach, vmax=reach, aspect="auto")
    for i in range(rows):
        for j in range(columns):
            value = grid.difference[i, j]
            if math.isnan(value):
                ax.text(j, i, "—", ha="center", va="center", fontsize=8)
                continue
            mark = " ✓" if grid.significant[i, j] else ""
            ax.text(j, i, f"{value:+.3f}{mark}", ha="center", va="center", fontsize=8)
            if not grid.significant[i, j]:
                cell = (j - 0.5, i - 0.5)
                ax.add_patch(Rectangle(cell, 1, 1, fill=False, hatch="///", edgecolor="0.55", linewidth=0))
    ax.axvline(columns - 1.5, color="black", linewidth=1)  # the average apart from the pairs
    ax.set_xticks(range(columns), grid.columns, rotation=30, ha="right")
    ax.set_yticks(range(rows), grid.strategies)
    ax.set_title(
        f"{grid.task} ({grid.backbone}): target/test {grid.metric} − {baseline}\n"
        "hatched: not significant at α = 0.05 (paired bootstrap; pairs Holm-corrected); ✓ significant"
    )
    fig.colorbar(image, ax=ax, label=f"Δ {grid.metric}")
    name = f"compare_{grid.task}_{grid.backbone}.png".replace(" ", "_")
    return save_figure(fig, out_dir / name)
