"""H-score (Bao et al. 2019, "An Information-Theoretic Approach to Transferability in Task Transfer
Learning").

    H(f) = tr( cov(f)⁻¹ · cov(E[f | y]) )

for features f (n, D) and labels y: the share of the features' variance that lies between the classes'
means, measured in the features' own metric. It is the optimal (squared) score of a linear classifier's
features under the modal-decomposition view; higher means the classes separate more linearly. cov(f) is
inverted as a pseudo-inverse (features of n < D examples, or of a low-rank encoder, are singular).
With n ≤ D examples the classes are always linearly separable in sample and H-score saturates at its
maximum, classes − 1: use more examples than feature dimensions (LogME has no such limit).
"""

from __future__ import annotations

import numpy as np


def h_score(features: np.ndarray, labels: np.ndarray, rcond: float = 1e-10) -> float:
    """H-score of (n, D) features for integer labels (n,); between 0 and (classes − 1)."""
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(
            f"features must be (n, D) with n = len(labels); got {features.shape} and {labels.shape}"
        )
    centred = features - features.mean(axis=0)
    class_means = np.zeros_like(centred)
    for k in np.unique(labels):
        rows = labels == k
        class_means[rows] = centred[rows].mean(axis=0)  # E[f | y] for every row of class k
    cov_f = centred.T @ centred / len(centred)
    cov_between = class_means.T @ class_means / len(centred)
    return float(np.trace(np.linalg.pinv(cov_f, rcond=rcond, hermitian=True) @ cov_between))
