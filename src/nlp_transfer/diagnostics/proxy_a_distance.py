"""Proxy A-distance (Ben-David et al. 2007, "Analysis of Representations for Domain Adaptation").

The A-distance between two domains is estimated by how well a classifier tells their examples apart:
train a linear domain classifier on half of the source and target features (balanced), measure its error ε
on the other half, and report

    PAD = 2 (1 − 2 ε),

0 when the domains are indistinguishable (ε = 0.5) and 2 when they are perfectly separable (ε = 0). An ε
above 0.5 (chance noise) counts as 0.5. The classifier is an L2-regularised logistic regression on
standardised features (Ben-David et al. and Ganin et al. 2016 use a linear SVM; both are linear).
"""

from __future__ import annotations

import numpy as np


def proxy_a_distance(source: np.ndarray, target: np.ndarray, seed: int = 0, c: float = 1.0) -> float:
    """PAD between (n_s, D) and (n_t, D) features, from a held-out half (domains balanced to the smaller)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    size = min(len(source), len(target))
    if size < 4:
        raise ValueError(
            f"Proxy A-distance needs at least 4 examples per domain, got {len(source)}, {len(target)}"
        )
    both = [rng.permutation(np.asarray(x, dtype=np.float64))[:size] for x in (source, target)]
    half = size // 2
    train_x = np.concatenate([both[0][:half], both[1][:half]])
    test_x = np.concatenate([both[0][half:], both[1][half:]])
    train_y = np.repeat([0, 1], half)
    test_y = np.repeat([0, 1], size - half)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000, random_state=seed))
    error = float(np.mean(model.fit(train_x, train_y).predict(test_x) != test_y))
    return 2.0 * (1.0 - 2.0 * min(error, 0.5))
