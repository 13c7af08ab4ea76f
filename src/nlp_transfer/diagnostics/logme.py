"""LogME (You et al. 2021, "LogME: Practical Assessment of Pre-trained Models for Transfer Learning").

For features F (n, D) and each class k's indicator column y (n,), a Bayesian linear model y = F w + ε with
prior w ~ N(0, α⁻¹ I) and noise ε ~ N(0, β⁻¹ I) has the log evidence

    L(α, β) = n/2 log β + D/2 log α − n/2 log 2π − β/2 ‖F m − y‖² − α/2 ‖m‖² − 1/2 log |A|,
    A = α I + β FᵀF,   m = β A⁻¹ Fᵀ y.

α and β are set by the fixed-point iteration of MacKay's evidence maximisation (the paper's Algorithm 2):
γ = Σᵢ β σᵢ / (α + β σᵢ), α ← γ / ‖m‖², β ← (n − γ) / ‖F m − y‖², with σᵢ the eigenvalues of FᵀF (one SVD
of F serves every class). LogME is the maximised evidence per example, averaged over classes: higher means
the features explain the labels linearly with a simpler model.
"""

from __future__ import annotations

import numpy as np


def _class_evidence(
    u: np.ndarray, s2: np.ndarray, y: np.ndarray, dim: int, iterations: int, tol: float
) -> float:
    """Maximised log evidence / n for one target column; `u`, `s2` from the thin SVD of F (F = U S Vᵀ)."""
    n = len(y)
    projected = u.T @ y  # (r,) coordinates of y in F's column space
    outside = float(y @ y - projected @ projected)  # ‖y‖² outside that space: no w can fit it
    alpha, beta = 1.0, 1.0
    for _ in range(iterations):
        shrink = beta * s2 / (alpha + beta * s2)  # (r,) per direction: how much of y the fit takes
        gamma = float(shrink.sum())
        m_norm2 = float(np.sum(beta**2 * s2 * projected**2 / (alpha + beta * s2) ** 2))  # ‖m‖²
        residual = float(np.sum((1 - shrink) ** 2 * projected**2)) + outside  # ‖F m − y‖²
        new_alpha, new_beta = gamma / max(m_norm2, 1e-12), (n - gamma) / max(residual, 1e-12)
        done = abs(new_alpha - alpha) / alpha < tol and abs(new_beta - beta) / beta < tol
        alpha, beta = new_alpha, new_beta
        if done:
            break
    shrink = beta * s2 / (alpha + beta * s2)
    m_norm2 = float(np.sum(beta**2 * s2 * projected**2 / (alpha + beta * s2) ** 2))
    residual = float(np.sum((1 - shrink) ** 2 * projected**2)) + outside
    log_det = float(np.sum(np.log(alpha + beta * s2))) + (dim - len(s2)) * np.log(alpha)
    evidence = (
        n / 2 * np.log(beta) + dim / 2 * np.log(alpha) - n / 2 * np.log(2 * np.pi)
        - beta / 2 * residual - alpha / 2 * m_norm2 - log_det / 2
    )  # fmt: skip
    return float(evidence / n)


def logme(features: np.ndarray, labels: np.ndarray, iterations: int = 100, tol: float = 1e-5) -> float:
    """LogME of (n, D) features for integer labels (n,) (classification: one-hot targets per class).

    Raises:
        ValueError: shapes that do not match, or fewer than two classes present.
    """
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(
            f"features must be (n, D) with n = len(labels); got {features.shape} and {labels.shape}"
        )
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError(f"LogME needs at least two classes among the labels, got {classes.tolist()}")
    u, s, _ = np.linalg.svd(features, full_matrices=False)
    s2 = s**2
    keep = s2 > s2.max() * 1e-10  # drop the null directions (they carry no fit, only the α prior)
    u, s2 = u[:, keep], s2[keep]
    scores = [
        _class_evidence(u, s2, (labels == k).astype(np.float64), features.shape[1], iterations, tol)
        for k in classes
    ]
    return float(np.mean(scores))
