"""Importance weights w(x) = p_target(x) / p_source(x) from a domain classifier on features.

A logistic regression separates source features (class 0) from target features (class 1). Its loss
weighs the two domains equally, so the fitted logit estimates log p_target(x) − log p_source(x)
directly and w(x) = exp(logit), with no correction for the domains' sizes (Bickel et al. 2007,
"Discriminative Learning for Differing Training and Test Distributions", ICML; You et al. 2019 use
the same discriminative estimate in DEV).

Features are standardised on both domains together and the weights carry an L2 penalty, so
separable features (few texts, hundreds of dimensions) give finite, not exploding, weights.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def density_ratio_weights(
    source: torch.Tensor, target: torch.Tensor, l2: float = 0.1, max_iter: int = 100
) -> torch.Tensor:
    """(n_source,) weights p_target(x)/p_source(x) for the source rows.

    Args:
        source: (n_source, dim) features of the source texts to be weighted.
        target: (n_target, dim) features of unlabeled target texts.
        l2: ridge strength on the standardised features' coefficients; larger gives flatter weights.
        max_iter: L-BFGS iterations (full batch, deterministic).

    Raises:
        ValueError: on empty inputs or a feature-size mismatch.
    """
    if len(source) == 0 or len(target) == 0:
        raise ValueError(f"need source and target rows, got {len(source)} and {len(target)}")
    if source.shape[1:] != target.shape[1:]:
        raise ValueError(f"feature sizes differ: source {tuple(source.shape)}, target {tuple(target.shape)}")
    # Lightning evaluates under inference mode; fitting needs autograd and ordinary (non-inference) tensors.
    with torch.inference_mode(False), torch.enable_grad():
        features = torch.cat([source, target]).detach().to(torch.float64, copy=True)
        features = (features - features.mean(dim=0)) / features.std(dim=0).clamp_min(1e-8)
        xs, xt = features[: len(source)], features[len(source) :]
        coef = torch.zeros(features.shape[1], dtype=torch.float64, requires_grad=True)
        bias = torch.zeros((), dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.LBFGS([coef, bias], max_iter=max_iter, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            # balanced log-loss: −log p(source|x) on source rows, −log p(target|x) on target rows
            loss = 0.5 * F.softplus(xs @ coef + bias).mean() + 0.5 * F.softplus(-(xt @ coef + bias)).mean()
            loss = loss + 0.5 * l2 * coef.square().sum()
            loss.backward()
            return loss

        optimizer.step(closure)
        with torch.no_grad():
            return torch.exp(xs @ coef + bias)
