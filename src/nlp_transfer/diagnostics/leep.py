"""LEEP (Nguyen et al. 2020, "LEEP: A New Measure to Evaluate Transferability of Learned Representations").

A source model θ gives each target example a distribution over source labels z, θ(x)_z. From the target's
labeled examples (x_i, y_i) LEEP builds the empirical joint and conditional

    P̂(y, z) = 1/n Σᵢ θ(xᵢ)_z [yᵢ = y],    P̂(y | z) = P̂(y, z) / Σ_y' P̂(y', z),

and scores the "expected empirical predictor" that maps θ's output through P̂(y | z):

    LEEP = 1/n Σᵢ log Σ_z P̂(yᵢ | z) θ(xᵢ)_z        (≤ 0; higher = more transferable).

Here the source model is a logistic regression trained on a source domain's frozen features and labels,
applied to the target's frozen features (see diagnostics/source_model.py): the score asks how well what
the source teaches predicts the target's labels, through the backbone's features.
"""

from __future__ import annotations

import numpy as np


def leep(source_probabilities: np.ndarray, target_labels: np.ndarray) -> float:
    """LEEP of (n, Z) source-label probabilities on target examples with integer target labels (n,)."""
    theta = np.asarray(source_probabilities, dtype=np.float64)
    labels = np.asarray(target_labels)
    if theta.ndim != 2 or len(theta) != len(labels):
        raise ValueError(
            f"probabilities must be (n, Z) with n = len(labels); got {theta.shape}, {labels.shape}"
        )
    classes, y = np.unique(labels, return_inverse=True)
    joint = np.zeros((len(classes), theta.shape[1]))
    np.add.at(joint, y, theta)
    joint /= len(theta)  # P̂(y, z)
    conditional = joint / np.maximum(joint.sum(axis=0, keepdims=True), 1e-300)  # P̂(y | z)
    predicted = np.sum(conditional[y] * theta, axis=1)  # Σ_z P̂(yᵢ | z) θ(xᵢ)_z
    return float(np.mean(np.log(np.maximum(predicted, 1e-300))))
