"""Figures of a sweep: a source × target heatmap per task and strategy, and strategies' averages."""

from __future__ import annotations

import math
from pathlib import Path

from nlp_transfer.results.collect import RunRow
from nlp_transfer.results.tables import task_grid


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


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
        image = ax.imshow(grid, cmap="viridis", vmin=0.0, vmax=1.0)
        ax.set_xticks(range(len(domains)), domains, rotation=30, ha="right")
        ax.set_yticks(range(len(domains)), domains)
        ax.set_xlabel("target")
        ax.set_ylabel("source")
        ax.set_title(f"{task} · {label} · target/test/{headline}")
        fig.colorbar(image, ax=ax)
        fig.tight_layout()
        path = out_dir / f"heatmap_{task}_{label.replace(' ', '_').replace('(', '').replace(')', '')}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written


def strategy_bars(rows: list[RunRow], task: str, out_dir: Path) -> Path:
    """Average cross-domain target score per strategy (over the pairs each strategy completed)."""
    plt = _pyplot()
    labels, domains, cells = task_grid(rows, task)
    averages = []
    for label in labels:
        means = [c.mean for (lab, s, t), c in cells.items() if lab == label and s != t and c.mean is not None]
        averages.append(sum(means) / len(means) if means else 0.0)
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 3, 3.5))
    ax.bar(labels, averages, color="tab:blue")
    for x, value in enumerate(averages):
        ax.text(x, value, f"{value:.3f}", ha="center", va="bottom", fontsize=9)
    ax.set_ylim(0, 1)
    ax.set_ylabel("cross-domain average")
    ax.set_title(f"{task}: strategies, average target score")
    fig.tight_layout()
    path = out_dir / f"strategies_{task}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
