"""Transferability scores against hand computations, an independent optimiser, and their defining property."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from nlp_transfer.diagnostics.h_score import h_score
from nlp_transfer.diagnostics.leep import leep
from nlp_transfer.diagnostics.logme import logme
from nlp_transfer.diagnostics.nce import nce


def informative_and_random(
    seed: int = 0, n: int = 300, dim: int = 16
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels in 3 classes, features whose first 3 dims are the class mean plus noise, and pure noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    informative = rng.normal(size=(n, dim))
    informative[:, :3] += 3.0 * np.eye(3)[labels]
    return informative, rng.normal(size=(n, dim)), labels


def direct_evidence(features: np.ndarray, y: np.ndarray, log_alpha: float, log_beta: float) -> float:
    """The Bayesian linear model's log evidence / n from its definition, with explicit D×D matrices."""
    n, dim = features.shape
    alpha, beta = np.exp(log_alpha), np.exp(log_beta)
    a = alpha * np.eye(dim) + beta * features.T @ features
    m = beta * np.linalg.solve(a, features.T @ y)
    residual = np.sum((features @ m - y) ** 2)
    logdet = np.linalg.slogdet(a)[1]
    evidence = (n * np.log(beta) + dim * np.log(alpha) - n * np.log(2 * np.pi) - beta * residual
                - alpha * m @ m - logdet) / 2  # fmt: skip
    return evidence / n


def test_logme_equals_the_evidence_maximised_by_a_generic_optimiser() -> None:
    features, _, labels = informative_and_random(n=80, dim=6)
    best = []
    for k in range(3):
        y = (labels == k).astype(float)
        result = minimize(
            lambda p, y=y: -direct_evidence(features, y, *p), x0=[0.0, 0.0], method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000},
        )  # fmt: skip
        best.append(-result.fun)
    assert logme(features, labels) == pytest.approx(np.mean(best), abs=1e-5)


def test_logme_and_h_score_rank_label_determining_features_above_random_ones() -> None:
    informative, noise, labels = informative_and_random()
    assert logme(informative, labels) > logme(noise, labels) + 0.1
    assert h_score(informative, labels) > 5 * h_score(noise, labels)


def test_logme_works_with_more_dimensions_than_examples() -> None:
    informative, noise, labels = informative_and_random(n=40, dim=64)
    assert np.isfinite(logme(noise, labels)) and logme(informative, labels) > logme(noise, labels)


def test_h_score_by_hand_on_one_dimension() -> None:
    """1-D: tr(cov(f)⁻¹ cov(E[f|y])) = var(class means per row) / var(f)."""
    f = np.array([[0.0], [2.0], [4.0], [10.0]])
    y = np.array([0, 0, 1, 1])
    # class means 1 and 7 around a grand mean 4: between variance 9; var(f) = (16 + 4 + 0 + 36) / 4 = 14
    assert h_score(f, y) == pytest.approx(9 / 14)


def test_leep_by_hand_on_a_fixed_array() -> None:
    theta = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.3, 0.7]])
    y = np.array([0, 0, 1, 0])
    # P̂(y, z) = 1/4 Σ θ over rows of y: y=0 → (1.8, 1.2)/4, y=1 → (0.2, 0.8)/4; P̂(z) = (0.5, 0.5)
    cond = np.array([[1.8 / 2.0, 1.2 / 2.0], [0.2 / 2.0, 0.8 / 2.0]])  # P̂(y | z)
    expected = np.mean([np.log(cond[yi] @ t) for yi, t in zip(y, theta, strict=True)])
    assert leep(theta, y) == pytest.approx(expected)
    assert expected == pytest.approx(np.mean(np.log([0.87, 0.78, 0.34, 0.69])))


def test_nce_by_hand_and_its_bounds() -> None:
    z = np.array([0, 0, 0, 1, 1, 1])
    y = np.array([0, 0, 1, 1, 1, 1])
    # z=0: y = (2/3, 1/3); z=1: y certain. −H(Y|Z) = 1/2 (2/3 ln 2/3 + 1/3 ln 1/3)
    assert nce(z, y) == pytest.approx(0.5 * (2 / 3 * np.log(2 / 3) + 1 / 3 * np.log(1 / 3)))
    assert nce(y, y) == pytest.approx(0.0)  # labels determined by z
    assert nce(np.zeros(6, int), y) == pytest.approx(-(1 / 3 * np.log(3) + 2 / 3 * np.log(1.5)))  # = −H(Y)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least two classes"):
        logme(np.ones((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="n = len"):
        h_score(np.ones((3, 2)), np.zeros(4))
