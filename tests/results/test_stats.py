"""Every statistic against scipy/numpy or a hand computation, on synthetic data with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from nlp_transfer.results.stats import Interval, Scores, holm, paired_bootstrap, t_interval, win_tie_loss


def test_t_interval_matches_scipy():
    values = [0.81, 0.84, 0.79, 0.86, 0.83]
    ours = t_interval(values)
    low, high = scipy_stats.t.interval(
        0.95, len(values) - 1, loc=np.mean(values), scale=scipy_stats.sem(values)
    )
    assert ours.mean == pytest.approx(np.mean(values))
    assert (ours.low, ours.high) == (pytest.approx(low), pytest.approx(high))
    assert ours.n == 5


def test_t_interval_of_one_seed_has_none_and_of_equal_seeds_is_a_point():
    single = t_interval([0.7])
    assert (single.mean, single.low, single.high, single.n) == (0.7, None, None, 1)
    assert not single.has_interval
    equal = t_interval([0.5, 0.5, 0.5])
    assert equal.low == equal.high == 0.5


def _scipy_paired_interval(baseline: np.ndarray, candidate: np.ndarray) -> tuple[float, float]:
    result = scipy_stats.bootstrap(
        (candidate - baseline,), np.mean, method="percentile", n_resamples=10_000, random_state=1
    )
    return result.confidence_interval.low, result.confidence_interval.high


def test_exact_zero_difference_gives_p_one_and_scipys_interval():
    baseline = np.tile([1.0, 0.0], 200)  # 50 % correct
    candidate = np.tile([0.0, 1.0], 200)  # 50 % correct, on the other half
    result = paired_bootstrap([(Scores.accuracy(baseline), Scores.accuracy(candidate))])
    assert result.difference.mean == 0.0
    assert result.p_value == 1.0
    assert result.difference.contains_zero()
    low, high = _scipy_paired_interval(baseline, candidate)
    assert result.difference.low == pytest.approx(low, abs=0.01)
    assert result.difference.high == pytest.approx(high, abs=0.01)


def test_large_shift_is_detected_with_scipys_interval():
    rng = np.random.default_rng(3)
    baseline = (rng.random(400) < 0.3).astype(float)
    candidate = np.ones(400)
    result = paired_bootstrap([(Scores.accuracy(baseline), Scores.accuracy(candidate))], resamples=2000)
    assert result.difference.mean == pytest.approx(1 - baseline.mean())
    assert result.p_value == pytest.approx(1 / 2001)  # no resample came near 0
    low, high = _scipy_paired_interval(baseline, candidate)
    assert result.difference.low == pytest.approx(low, abs=0.01)
    assert result.difference.high == pytest.approx(high, abs=0.01)
    assert result.difference.low > 0


def test_tied_predictions_give_a_zero_interval():
    correct = (np.random.default_rng(0).random((3, 300)) < 0.6).astype(float)
    result = paired_bootstrap([(Scores.accuracy(correct), Scores.accuracy(correct.copy()))], resamples=500)
    assert (result.difference.mean, result.difference.low, result.difference.high) == (0.0, 0.0, 0.0)
    assert result.p_value == 1.0


def test_seeds_are_resampled_with_the_same_examples():
    """Candidate = baseline with its two seeds swapped: a joint resample keeps every difference at 0."""
    rng = np.random.default_rng(5)
    seed_a, seed_b = (rng.random(200) < 0.5).astype(float), (rng.random(200) < 0.8).astype(float)
    baseline = Scores.accuracy(np.stack([seed_a, seed_b]))
    candidate = Scores.accuracy(np.stack([seed_b, seed_a]))
    result = paired_bootstrap([(baseline, candidate)], resamples=500)
    assert result.difference.low == pytest.approx(0.0, abs=1e-12)
    assert result.difference.high == pytest.approx(0.0, abs=1e-12)


def test_blocks_average_their_differences_and_ratio_scores():
    """Two test sets (pairs) averaged; the second block scores F1 = 2TP / (predicted + gold)."""
    first = (Scores.accuracy(np.zeros(100)), Scores.accuracy(np.ones(100)))  # +1.0
    tp, predicted = np.array([[1.0, 0.0, 2.0]]), np.array([[1.0, 1.0, 2.0]])
    gold = np.array([[2.0, 1.0, 2.0]])
    f1 = Scores(2 * tp, predicted + gold)
    assert f1.value() == pytest.approx(2 * 3 / (4 + 5))
    result = paired_bootstrap([first, (f1, f1)], resamples=300)
    assert result.difference.mean == pytest.approx(0.5)


def test_holm_matches_a_hand_computation():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1


def test_win_tie_loss_counts_an_interval_containing_zero_as_a_tie():
    intervals = [
        Interval(0.05, 0.01, 0.09, 5),
        Interval(0.0, -0.02, 0.02, 5),
        Interval(-0.1, -0.2, -0.01, 5),
        Interval(0.03, 0.0, 0.06, 5),
        Interval(0.2, None, None, 1),
    ]
    assert win_tie_loss(intervals) == (1, 3, 1)


def test_macro_f1_parts_give_torchmetrics_macro_f1_with_absent_classes_left_out() -> None:
    import torch
    from torchmetrics.classification import MulticlassF1Score

    rng = np.random.default_rng(3)
    gold = rng.integers(0, 4, size=(2, 60))  # class 4 of 5 never occurs: it drops out of the mean
    pred = np.where(rng.random((2, 60)) < 0.6, gold, rng.integers(0, 4, size=(2, 60)))
    scores = Scores.macro_f1(gold, pred, num_classes=5)
    per_seed = [
        MulticlassF1Score(num_classes=5, average="macro")(torch.tensor(p), torch.tensor(g)).item()
        for g, p in zip(gold, pred, strict=True)
    ]
    assert scores.value() == pytest.approx(np.mean(per_seed), abs=1e-6)
    # by hand for seed 0, class by class
    f1s = [2 * np.sum((gold[0] == c) & (pred[0] == c)) / (np.sum(gold[0] == c) + np.sum(pred[0] == c))
           for c in range(4)]  # fmt: skip
    assert Scores.macro_f1(gold[:1], pred[:1], 5).value() == pytest.approx(np.mean(f1s))


def test_macro_f1_bootstrap_of_identical_predictions_is_exactly_zero_and_a_better_model_wins() -> None:
    rng = np.random.default_rng(4)
    gold = rng.integers(0, 3, size=(3, 200))
    noisy = np.where(rng.random((3, 200)) < 0.5, gold, rng.integers(0, 3, size=(3, 200)))
    baseline = Scores.macro_f1(gold, noisy, 3)
    same = paired_bootstrap([(baseline, Scores.macro_f1(gold, noisy, 3))], resamples=300)
    assert same.difference.mean == 0 and same.difference.low == 0 and same.difference.high == 0
    better = paired_bootstrap([(baseline, Scores.macro_f1(gold, gold, 3))], resamples=300)
    assert better.difference.low > 0.2 and better.p_value < 0.01
