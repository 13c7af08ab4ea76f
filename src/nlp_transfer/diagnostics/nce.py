"""NCE, negative conditional entropy (Tran, Nguyen & Hassner 2019, "Transferability and Hardness of
Supervised Classification Tasks").

With hard source labels zᵢ (here the source model's argmax on each target example) and the target
labels yᵢ, from the empirical joint P̂(y, z) = 1/n #{i: yᵢ = y, zᵢ = z}:

    NCE = −H(Y | Z) = Σ_{y,z} P̂(y, z) log( P̂(y, z) / P̂(z) )        (≤ 0; 0 when z determines y).
"""

from __future__ import annotations

import numpy as np


def nce(source_labels: np.ndarray, target_labels: np.ndarray) -> float:
    """−H(Y | Z) in nats, for integer source labels z (n,) and target labels y (n,) of the same examples."""
    z = np.asarray(source_labels)
    y = np.asarray(target_labels)
    if z.shape != y.shape or z.ndim != 1:
        raise ValueError(f"source and target labels must be two (n,) arrays; got {z.shape} and {y.shape}")
    _, zi = np.unique(z, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    joint = np.zeros((yi.max() + 1, zi.max() + 1))
    np.add.at(joint, (yi, zi), 1.0)
    joint /= len(y)
    marginal_z = joint.sum(axis=0, keepdims=True)
    present = joint > 0
    return float(np.sum(joint[present] * np.log((joint / marginal_z)[present])))
