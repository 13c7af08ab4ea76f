"""How well a label-free validator tracks target accuracy: weighted Spearman correlation and selection regret.

Both take, over a set of validation points (checkpoints of one run, or of every run of one domain pair),
the validator's scores and the target metric measured at the same points (oracle-only: recorded for this
meta-evaluation, never used to choose anything).

Weighted Spearman (Musgrave, Belongie & Lim 2022, "Three New Validators and a Large-Scale Benchmark Ranking
for Unsupervised Domain Adaptation", §4): a rank correlation in which the points that matter for selection,
those near the top, weigh most. With scores s oriented so that higher is better and target accuracies a,

    r_s(i), r_a(i) = dense rank of s_i, a_i divided by the largest dense rank        (in (0, 1], 1 = best)
    w_i            = max(r_s(i), r_a(i)) ** power                                     (power = 2)
    ρ_w            = weighted Pearson correlation, under weights w, of the average ranks of s and of a

so a point counts fully when the validator ranks it at the top or when it truly is at the top, and points
both rank low barely count. The weights follow the authors' released code (powerful-benchmarker,
`validator_tests/utils/weighted_spearman.py`: the max of both normalised dense ranks, squared); the ranks
correlated here are the ordinary average ranks (ties share their mean rank), so uniform weights give
exactly scipy's Spearman ρ and a reversed order gives exactly −1 whatever the weights (the authors' code
ranks by cumulative weight instead, which moves a perfectly reversed order slightly off −1).

Undefined scores (None/NaN: e.g. a validator that needs a class the model never predicts) count as the
worst defined score in the correlation, as in the authors' code, and are never picked.

Selection regret: oracle target accuracy (the best over the points) minus the target accuracy at the point
the validator picks (its best score; ties keep the earlier point, as ModelCheckpoint does). 0 is a perfect
pick; it is at most the spread of target accuracies over the points. numpy/scipy only (fast CLI).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

#: the exponent of the weights (Musgrave et al. 2022 use 2)
DEFAULT_POWER = 2.0


def oriented(scores: Sequence[float | None], higher_is_better: bool) -> np.ndarray:
    """Scores as floats with higher = better (a `min` validator negated); None becomes NaN."""
    values = np.array([np.nan if s is None else float(s) for s in scores], dtype=float)
    return values if higher_is_better else -values


def _filled(scores: np.ndarray) -> np.ndarray:
    """Undefined scores set to the worst defined one (all undefined: left NaN)."""
    finite = np.isfinite(scores)
    if not finite.any():
        return scores
    return np.where(finite, scores, scores[finite].min())


def top_weights(scores: np.ndarray, targets: np.ndarray, power: float = DEFAULT_POWER) -> np.ndarray:
    """w_i = max(dense rank of s_i / max rank, dense rank of a_i / max rank) ** power."""
    score_rank = rankdata(scores, method="dense").astype(float)
    target_rank = rankdata(targets, method="dense").astype(float)
    return np.maximum(score_rank / score_rank.max(), target_rank / target_rank.max()) ** power


def weighted_pearson(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
    """Σ w (x − x̄_w)(y − ȳ_w) / sqrt(Σ w (x − x̄_w)² · Σ w (y − ȳ_w)²); NaN when either is constant."""
    w = weights / weights.sum()
    dx, dy = x - (w * x).sum(), y - (w * y).sum()
    spread = np.sqrt((w * dx * dx).sum() * (w * dy * dy).sum())
    return float((w * dx * dy).sum() / spread) if spread > 0 else float("nan")


def weighted_spearman(
    scores: Sequence[float], targets: Sequence[float], power: float = DEFAULT_POWER,
    weights: Sequence[float] | None = None,
) -> float:  # fmt: skip
    """ρ_w of oriented scores against target accuracies (NaN with under two points or a constant side).

    `weights`: explicit per-point weights instead of the top weights (uniform weights give Spearman's ρ).
    """
    s, a = _filled(np.asarray(scores, dtype=float)), np.asarray(targets, dtype=float)
    if len(s) != len(a):
        raise ValueError(f"{len(s)} scores for {len(a)} target accuracies")
    if len(s) < 2 or not np.isfinite(s).all() or not np.isfinite(a).all():
        return float("nan")
    w = top_weights(s, a, power) if weights is None else np.asarray(weights, dtype=float)
    return weighted_pearson(rankdata(s), rankdata(a), w)


def spearman(scores: Sequence[float], targets: Sequence[float]) -> float:
    """Plain Spearman ρ (uniform weights), beside the weighted one."""
    return weighted_spearman(scores, targets, weights=np.ones(len(targets)))


def pick(scores: Sequence[float]) -> int | None:
    """Index of the best defined oriented score (the earliest of ties); None if none is defined."""
    values = np.asarray(scores, dtype=float)
    finite = np.isfinite(values)
    if not finite.any():
        return None
    return int(np.flatnonzero(finite & (values == values[finite].max()))[0])


def selection_regret(scores: Sequence[float], targets: Sequence[float]) -> float:
    """max(a) − a[pick(s)]: what choosing by the validator loses against the oracle (NaN: no pick)."""
    chosen = pick(scores)
    if chosen is None:
        return float("nan")
    a = np.asarray(targets, dtype=float)
    return float(np.nanmax(a) - a[chosen])
