"""Domain-shift measures: proxy A-distance at its two ends, linear MMD² and label TV by hand."""

from __future__ import annotations

import numpy as np
import pytest

from nlp_transfer.diagnostics.label_shift import label_total_variation
from nlp_transfer.diagnostics.mmd import linear_mmd2
from nlp_transfer.diagnostics.proxy_a_distance import proxy_a_distance


def test_pad_is_about_zero_for_two_samples_of_one_distribution() -> None:
    rng = np.random.default_rng(0)
    assert proxy_a_distance(rng.normal(size=(400, 8)), rng.normal(size=(400, 8))) < 0.35


def test_pad_is_near_two_for_disjoint_domains() -> None:
    rng = np.random.default_rng(1)
    source, target = rng.normal(size=(200, 8)), rng.normal(size=(300, 8))
    target[:, 0] += 10.0
    assert proxy_a_distance(source, target) == pytest.approx(2.0)


def test_pad_grows_with_the_shift() -> None:
    rng = np.random.default_rng(2)
    base = rng.normal(size=(400, 4))
    pads = [proxy_a_distance(base, rng.normal(size=(400, 4)) + [shift, 0, 0, 0]) for shift in (0.0, 0.5, 1.5)]
    assert pads[0] < pads[1] < pads[2]


def test_linear_mmd2_is_the_squared_distance_of_the_means() -> None:
    source = np.array([[0.0, 1.0], [2.0, 3.0]])  # mean (1, 2)
    target = np.array([[4.0, 0.0], [4.0, 2.0], [4.0, 1.0]])  # mean (4, 1)
    assert linear_mmd2(source, target) == pytest.approx(3.0**2 + 1.0**2)
    assert linear_mmd2(source, source) == 0.0


def test_label_total_variation_by_hand() -> None:
    source = np.array([0, 0, 0, 1])  # (3/4, 1/4, 0)
    target = np.array([0, 1, 2, 2])  # (1/4, 1/4, 1/2)
    assert label_total_variation(source, target, classes=3) == pytest.approx(0.5 * (0.5 + 0 + 0.5))
    assert label_total_variation(source, source, classes=3) == 0.0
