"""Linear-kernel maximum mean discrepancy (Gretton et al. 2012), a label-free distance between two domains.

With the linear kernel k(a, b) = aᵀb, MMD² is the squared distance between the domains' mean features,

    MMD² = ‖ mean(source) − mean(target) ‖²       (the biased, V-statistic estimate),

which is what the mmd strategy's loss aligns (with Gaussian kernels there). Its scale is the features'
own, so compare it across sources of one backbone, not across backbones.
"""

from __future__ import annotations

import numpy as np


def linear_mmd2(source: np.ndarray, target: np.ndarray) -> float:
    """‖μ_s − μ_t‖² of (n_s, D) and (n_t, D) features."""
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if source.ndim != 2 or target.ndim != 2 or source.shape[1] != target.shape[1]:
        raise ValueError(f"features must be (n, D) with one D; got {source.shape} and {target.shape}")
    gap = source.mean(axis=0) - target.mean(axis=0)
    return float(gap @ gap)
