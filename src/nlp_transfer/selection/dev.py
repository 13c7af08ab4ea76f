"""Deep Embedded Validation (You et al. 2019, "Towards Accurate Model Selection in Deep Unsupervised
Domain Adaptation", ICML, Algorithm 1): the target risk estimated from labeled source validation data.

Each source-validation text i has a loss l_i and an importance weight w_i = p_target(x_i)/p_source(x_i)
from a domain classifier on the model's features. The importance-weighted mean of w_i·l_i is an
unbiased but high-variance estimate of the target risk; since E[w] = 1, w is a control variate:

    L_i = w_i · l_i,   η = −Cov(L, W) / Var(W),   R_DEV = mean(L) + η · mean(W) − η

Lower is better. At token level (NER) a row is a sentence: its mean loss over labeled words and the
mean of its words' features (each word's first sub-token: `ModelOutputs` rows, the same on source and
target), so the domain classifier compares sentences of the two domains as the classifier reads them.
"""

from __future__ import annotations

import torch

from nlp_transfer.selection.density_ratio import density_ratio_weights
from nlp_transfer.selection.validator import Validator, ValidatorUndefined
from nlp_transfer.strategies.outputs import ModelOutputs


def dev_risk(losses: torch.Tensor, weights: torch.Tensor) -> float:
    """R_DEV from per-example source-validation losses and their importance weights (both (n,))."""
    if losses.shape != weights.shape or losses.ndim != 1:
        raise ValueError(f"losses {tuple(losses.shape)} and weights {tuple(weights.shape)} must be (n,)")
    weighted = weights.double() * losses.double()
    weights = weights.double()
    variance = weights.var(unbiased=True) if len(weights) > 1 else torch.zeros((), dtype=torch.float64)
    if variance <= 1e-12:  # constant weights: nothing to correct, and η would be 0/0
        eta = torch.zeros((), dtype=torch.float64)
    else:
        covariance = ((weighted - weighted.mean()) * (weights - weights.mean())).sum() / (len(weights) - 1)
        eta = -covariance / variance
    return float(weighted.mean() + eta * weights.mean() - eta)


class DEVValidator(Validator):
    """Importance-weighted source-validation loss with the control-variate correction (lower is better).

    Args:
        l2: ridge strength of the logistic-regression domain classifier (see `density_ratio_weights`).
    """

    name = "dev"
    higher_is_better = False

    def __init__(self, l2: float = 0.1) -> None:
        self.l2 = l2

    def __call__(self, source_val: ModelOutputs, target_unlabeled: ModelOutputs) -> float:
        if source_val.loss is None:
            raise ValidatorUndefined("dev needs per-text losses on source validation; none were given")
        losses = source_val.example_losses()
        keep = torch.isfinite(losses)  # NER sentences without a labeled word have no loss
        target_features = target_unlabeled.example_features()
        if int(keep.sum()) < 2 or len(target_features) < 2:
            raise ValidatorUndefined(
                f"dev needs at least 2 labeled source-validation texts and 2 target texts, got "
                f"{int(keep.sum())} and {len(target_features)}"
            )
        weights = density_ratio_weights(source_val.example_features()[keep], target_features, l2=self.l2)
        return dev_risk(losses[keep], weights)
