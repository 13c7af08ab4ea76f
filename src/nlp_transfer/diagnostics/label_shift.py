"""Label-distribution difference between two domains: total variation between their label histograms.

    TV(p_s, p_t) = 1/2 Σ_y | p_s(y) − p_t(y) |        (0: same class balance, 1: disjoint labels)

A shift in class priors (label shift) alone can cost a source-trained classifier accuracy on the target,
whatever the features; feature alignment (DANN, CORAL, MMD) does not correct it.
"""

from __future__ import annotations

import numpy as np


def label_total_variation(source_labels: np.ndarray, target_labels: np.ndarray, classes: int) -> float:
    """TV distance between the label histograms of integer labels in [0, classes)."""
    histograms = [
        np.bincount(np.asarray(y), minlength=classes) / max(len(y), 1) for y in (source_labels, target_labels)
    ]
    return float(0.5 * np.abs(histograms[0] - histograms[1]).sum())
