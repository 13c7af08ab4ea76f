"""The "source model" that LEEP and NCE need: a linear classifier of a source domain's labels on frozen
features.

Transferability scores such as LEEP (Nguyen et al. 2020) and NCE (Tran et al. 2019) were defined for a
network trained on a source task, read on the target's examples. Before any training, the cheapest such
model is a logistic regression fitted on the source domain's frozen features and labels (a linear probe,
the feature_extraction strategy's head); applied to the target's features, its probabilities are LEEP's θ
and its argmax NCE's source labels. Features are standardised with the source's statistics first.
"""

from __future__ import annotations

import numpy as np


def fit_source_model(features: np.ndarray, labels: np.ndarray, c: float = 1.0, seed: int = 0):
    """A fitted scikit-learn pipeline (standardise → L2-regularised logistic regression)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000, random_state=seed))
    return model.fit(np.asarray(features, dtype=np.float64), np.asarray(labels))


def source_probabilities(model, features: np.ndarray, classes: int) -> np.ndarray:
    """(n, classes) probabilities of every source label (columns of labels the source lacks are 0)."""
    probabilities = np.zeros((len(features), classes))
    probabilities[:, model.classes_] = model.predict_proba(np.asarray(features, dtype=np.float64))
    return probabilities
