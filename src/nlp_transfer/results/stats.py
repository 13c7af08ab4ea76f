"""The statistics behind every number `nlp-transfer results` and `compare` print (numpy + scipy, no torch).

* `t_interval`: mean over seeds ± a Student-t 95 % interval (n = 1 seed: no interval, flagged).
* `paired_bootstrap`: the difference of two strategies' score, resampling *test examples* jointly for
  both strategies and all seeds (the same resampled indices for every seed of both), so the interval
  carries the test set's sampling noise and the pairing; several blocks (domain pairs, each its own
  test set) are resampled independently and their differences averaged. A score is a ratio of sums
  over examples (`Scores`): accuracy (correct / 1) or micro entity F1 (2·TP / (predicted + gold)).
* `holm`: Holm's step-down adjustment of a family of p-values (Holm 1979).
* `win_tie_loss`: counts over pairs; a tie is an interval that contains 0.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """An estimate with its interval; `low`/`high` are None when it has none (a single seed)."""

    mean: float
    low: float | None
    high: float | None
    n: int

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None

    @property
    def half_width(self) -> float | None:
        return None if not self.has_interval else (self.high - self.low) / 2

    def contains_zero(self) -> bool:
        return self.has_interval and self.low <= 0.0 <= self.high


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Mean of `values` (one per seed) ± the t-interval of the mean; no interval for n = 1."""
    from scipy import stats

    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("t_interval needs at least one value")
    mean = float(data.mean())
    if data.size == 1:
        return Interval(mean, None, None, 1)
    half = float(stats.t.ppf((1 + confidence) / 2, data.size - 1) * data.std(ddof=1) / math.sqrt(data.size))
    return Interval(mean, mean - half, mean + half, int(data.size))


@dataclass(frozen=True)
class Scores:
    """Per-example parts of a score, shape (seeds, examples) or (seeds, examples, parts).

    Each part is a ratio Σ numerator / Σ denominator over examples; the score is the mean of the parts
    (parts whose denominator sums to 0 are left out). One part: accuracy (correct / 1) or micro entity F1
    (2·TP / (predicted + gold) per sentence). One part per class: macro-F1, class c's F1 being
    Σ 2·[gold=c ∧ pred=c] / Σ ([gold=c] + [pred=c]) — a class absent from gold and predictions drops out,
    as in torchmetrics' macro average. Resampling examples keeps every part's sums consistent.
    """

    numerator: np.ndarray
    denominator: np.ndarray

    def __post_init__(self) -> None:
        if self.numerator.shape != self.denominator.shape or self.numerator.ndim not in (2, 3):
            raise ValueError(f"Scores need two (seeds, examples[, parts]) arrays, got {self.numerator.shape} "
                             f"and {self.denominator.shape}")  # fmt: skip
        if self.numerator.ndim == 2:  # one part
            object.__setattr__(self, "numerator", self.numerator[..., None])
            object.__setattr__(self, "denominator", self.denominator[..., None])

    @classmethod
    def accuracy(cls, correct: np.ndarray) -> Scores:
        correct = np.atleast_2d(np.asarray(correct, dtype=np.float64))
        return cls(correct, np.ones_like(correct))

    @classmethod
    def macro_f1(cls, gold: np.ndarray, pred: np.ndarray, num_classes: int) -> Scores:
        """From (seeds, examples) class ids: one F1 part per class."""
        gold, pred = np.atleast_2d(gold), np.atleast_2d(pred)
        classes = np.arange(num_classes)
        is_gold, is_pred = gold[..., None] == classes, pred[..., None] == classes
        return cls(2.0 * (is_gold & is_pred), is_gold.astype(np.float64) + is_pred)

    def value(self) -> float:
        """The score averaged over seeds (each seed's score first)."""
        return float(np.mean(_part_mean(self.numerator.sum(axis=1), self.denominator.sum(axis=1))))


def _part_mean(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Mean over the last axis of numerator / denominator, leaving out parts with a zero denominator."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(denominator > 0, numerator / denominator, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all parts empty: NaN, dropped by the caller
        return np.nanmean(ratio, axis=-1)


@dataclass(frozen=True)
class Comparison:
    """candidate − baseline: the observed difference, its bootstrap interval and two-sided p-value."""

    difference: Interval
    p_value: float


def _resampled_difference(
    baseline: Scores, candidate: Scores, rng: np.random.Generator, resamples: int, chunk: int = 1000
) -> np.ndarray:
    """(resamples,) seed-averaged score differences, every resample drawing the same examples for all."""
    n = baseline.numerator.shape[1]
    out = np.empty(resamples)
    parts = [baseline.numerator, baseline.denominator, candidate.numerator, candidate.denominator]
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=stop - start).astype(np.float64)
        # (chunk, examples) × (seeds, examples, parts) → (chunk, seeds, parts)
        b_num, b_den, c_num, c_den = (np.einsum("re,sep->rsp", weights, part) for part in parts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            diff = np.nanmean(_part_mean(c_num, c_den), axis=1) - np.nanmean(_part_mean(b_num, b_den), axis=1)
        out[start:stop] = diff
    return out


def paired_bootstrap(
    blocks: Sequence[tuple[Scores, Scores]],
    resamples: int = 10_000,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Comparison:
    """Mean over blocks of (candidate − baseline), each block a (baseline, candidate) on one test set.

    The p-value tests a zero difference: the share of resampled differences, centred on the observed
    one, at least as far from it as the observed is from 0 (+1 smoothing; Efron & Tibshirani 1993, §16).
    """
    if not blocks:
        raise ValueError("paired_bootstrap needs at least one (baseline, candidate) block")
    for baseline, candidate in blocks:
        if baseline.numerator.shape[1] != candidate.numerator.shape[1]:
            raise ValueError("baseline and candidate must score the same test examples")
    rng = np.random.default_rng(seed)
    observed = float(np.mean([c.value() - b.value() for b, c in blocks]))
    resampled = np.mean([_resampled_difference(b, c, rng, resamples) for b, c in blocks], axis=0)
    alpha = 1 - confidence
    low, high = np.quantile(resampled, [alpha / 2, 1 - alpha / 2])
    extreme = np.abs(resampled - observed) >= abs(observed) - 1e-12
    p_value = float((1 + extreme.sum()) / (1 + resamples))
    return Comparison(Interval(observed, float(low), float(high), resamples), min(1.0, p_value))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the input order: reject those ≤ α to hold the family-wise error at α."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted_sorted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return adjusted.tolist()


def win_tie_loss(intervals: Sequence[Interval]) -> tuple[int, int, int]:
    """(wins, ties, losses) of candidate over baseline: an interval above 0, containing 0, below 0."""
    wins = sum(i.has_interval and i.low > 0 for i in intervals)
    losses = sum(i.has_interval and i.high < 0 for i in intervals)
    return wins, len(intervals) - wins - losses, losses
