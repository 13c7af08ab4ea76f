"""The diagnose figure: PAD per pair (one heatmap per backbone) and every target's sources ranked."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pad_heatmap(axis, rows: list[dict], backbone: str, domains: list[str]) -> None:
    grid = np.full((len(domains), len(domains)), np.nan)
    for row in rows:
        if row["backbone"] == backbone:
            grid[domains.index(row["source"]), domains.index(row["target"])] = row["pad"]
    axis.imshow(grid, vmin=0.0, vmax=2.0, cmap="viridis")
    for (i, j), value in np.ndenumerate(grid):
        if not np.isnan(value):
            axis.text(
                j, i, f"{value:.2f}", ha="center", va="center", color="w" if value < 1.2 else "k", fontsize=8
            )
    axis.set_xticks(range(len(domains)), domains, rotation=45, ha="right")
    axis.set_yticks(range(len(domains)), domains)
    axis.set_title(f"PAD, {backbone}")
    axis.set_xlabel("target")
    axis.set_ylabel("source")


def _ranking(axis, rows: list[dict], target: str, score: str) -> None:
    """`score` of every (backbone, source) into `target` as dots on a fitted axis, best at the top."""
    cells = sorted((r for r in rows if r["target"] == target), key=lambda r: r[score])
    axis.plot([r[score] for r in cells], range(len(cells)), "o", color="tab:blue")
    axis.set_yticks(range(len(cells)), [f"{r['backbone']}: {r['source']}" for r in cells])
    axis.grid(axis="y", alpha=0.3)
    axis.set_title(f"→ {target}: {score}")
    axis.tick_params(axis="y", labelsize=7)


def diagnose_figure(rows: list[dict], task: str, out_dir: Path, score: str = "leep") -> Path:
    """`diagnose_<task>.png`: PAD heatmaps (top row), sources ranked by `score` per target (bottom row)."""
    from nlp_transfer.results.plots import _pyplot, save_figure

    plt = _pyplot()
    backbones = list(dict.fromkeys(r["backbone"] for r in rows))
    domains = sorted({r["source"] for r in rows} | {r["target"] for r in rows})
    columns = max(len(backbones), len(domains))
    figure, axes = plt.subplots(2, columns, figsize=(3.4 * columns, 7.0), squeeze=False)
    for index, backbone in enumerate(backbones):
        _pad_heatmap(axes[0][index], rows, backbone, domains)
    for index, target in enumerate(domains):
        _ranking(axes[1][index], rows, target, score)
    for axis in [*axes[0][len(backbones) :], *axes[1][len(domains) :]]:
        axis.axis("off")
    figure.suptitle(f"{task}: domain shift (PAD, lower = closer) and {score} per source (higher = better)")
    return save_figure(figure, out_dir / f"diagnose_{task}.png")
