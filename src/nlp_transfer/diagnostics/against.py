"""How far to trust each score: Kendall τ between its ranking and the accuracy a sweep measured.

For every cross-domain cell (backbone, source, target) that both the diagnose table and the sweep hold,
the measured value is the target-test headline metric of the chosen strategy, averaged over seeds. Each
score is oriented so that higher predicts better transfer (distances are negated), then

* per target: τ over the (backbone, source) cells into that target, the question a user asks ("which
  backbone and source for my target?");
* overall: τ over all cells pooled (it also rewards a score that tracks how hard each target is);
* sources (`SOURCES`): τ over the sources of one backbone into one target, averaged over the (backbone,
  target) groups where it is defined — the choice left once the backbone is fixed. A score can order
  backbones and sources differently: a stronger encoder separates domains more, so distances grow with
  quality and order backbones backwards, yet may order one backbone's sources right; only this column tells.

τ is Kendall's tau-b (ties allowed: LogME and H-score are equal for all sources of one backbone and
target, so they can only order backbones). Runs are read with the results collection (results/collect.py).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from nlp_transfer.diagnostics.table import ORIENTATION

#: the `target` label of the rows that average τ over the sources within each (backbone, target) group
SOURCES = "sources"


def measured_scores(sweep_dir: Path, strategy: str) -> dict[tuple[str, str, str], float]:
    """(backbone, source, target) → mean target-test headline metric over seeds, cross-domain ok runs only."""
    from nlp_transfer.results.collect import collect

    values: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    rows = collect(sweep_dir).rows
    for row in rows:
        if row.strategy == strategy and not row.in_domain and row.target_score is not None:
            values[(row.backbone, row.source, row.target)].append(row.target_score)
    if not values:
        settings = sorted({r.strategy for r in rows if r.strategy.startswith(f"{strategy} [")})
        hint = f" It ran in several settings, named {settings}: pass one as --strategy." if settings else ""
        raise FileNotFoundError(f"No successful cross-domain {strategy} runs under {sweep_dir}.{hint}")
    return {cell: float(np.mean(scores)) for cell, scores in values.items()}


def kendall(predicted: list[float], measured: list[float]) -> float:
    """Kendall's tau-b; NaN when either side is constant or fewer than 3 cells."""
    from scipy.stats import kendalltau

    if len(predicted) < 3 or len(set(predicted)) < 2 or len(set(measured)) < 2:
        return float("nan")
    return float(kendalltau(predicted, measured).statistic)


def correlate(rows: list[dict], measured: dict[tuple[str, str, str], float]) -> list[dict]:
    """One row per (score, target or `all`): τ and the number of cells it is computed on."""
    cells = [
        (row, measured[key])
        for row in rows
        if (key := (row["backbone"], row["source"], row["target"])) in measured
    ]
    if not cells:
        raise ValueError("No (backbone, source, target) cell is in both the diagnose table and the sweep")
    targets = sorted({row["target"] for row, _ in cells})
    results = []
    for score, sign in ORIENTATION.items():
        for target in [*targets, "all"]:
            chosen = [(sign * row[score], value) for row, value in cells if target in ("all", row["target"])]
            predicted, truth = zip(*chosen, strict=True)
            results.append({"score": score, "target": target, "tau": kendall(list(predicted), list(truth)),
                            "cells": len(chosen)})  # fmt: skip
        results.append(source_choice(cells, score, sign))
    return results


def source_choice(cells: list[tuple[dict, float]], score: str, sign: float) -> dict:
    """Mean τ over the (backbone, target) groups of the sources' ranking; `cells` counts the cells of the
    groups where τ is defined (NaN when none is: fewer than 3 sources, or a score constant over them)."""
    groups: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for row, value in cells:
        groups[(row["backbone"], row["target"])].append((sign * row[score], value))
    taus = [(kendall([p for p, _ in pairs], [v for _, v in pairs]), len(pairs)) for pairs in groups.values()]
    defined = [(tau, size) for tau, size in taus if not np.isnan(tau)]
    mean = float(np.mean([tau for tau, _ in defined])) if defined else float("nan")
    return {"score": score, "target": SOURCES, "tau": mean, "cells": sum(size for _, size in defined)}


def against_markdown(results: list[dict], strategy: str) -> str:
    """A score × target table of τ, best overall score first."""
    targets = list(dict.fromkeys(r["target"] for r in results))
    by = {(r["score"], r["target"]): r for r in results}
    scores = sorted(ORIENTATION, key=lambda s: -np.nan_to_num(by[(s, "all")]["tau"], nan=-2.0))
    lines = [
        f"## Kendall τ: each score's ranking vs measured {strategy} target accuracy",
        "",
        f"Per target: over every (backbone, source) into it; `all`: every cell pooled; `{SOURCES}`: over the "
        "sources of one backbone into one target, averaged over those groups (the choice of a source once "
        "the backbone is fixed). n: cells.",
        "",
        "| score | " + " | ".join(targets) + " |",
        "|---|" + "---|" * len(targets),
    ]
    for score in scores:
        cells = [f"{by[(score, t)]['tau']:+.2f} (n={by[(score, t)]['cells']})" for t in targets]
        lines.append(f"| {score} | " + " | ".join(cells) + " |")
    return "\n".join(lines).replace("+nan", "—").replace("nan", "—") + "\n"
