"""CDAN: conditional adversarial domain adaptation (Long et al. 2018, NeurIPS, "Conditional Adversarial
Domain Adaptation").

The discriminator sees the multilinear map h = f ⊗ g of features f (d) and softmax predictions g (c),
not f alone, so it can align the class-conditional structure that DANN's marginal alignment blurs.
When d·c is large, the randomized multilinear map (R_f f) ⊙ (R_g g) / √k with fixed Gaussian R_f (k, d),
R_g (k, c) approximates its inner products in k dimensions (§3.1, eq. 7). With entropy conditioning
(CDAN+E, eq. 9) each example's domain loss is weighted by w = 1 + e^{−H(g)}, so confidently predicted
examples, whose g is a more reliable condition, count more.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from nlp_transfer.models.gradient_reversal import GradientReversal


class MultilinearMap(nn.Module):
    """(n, d) features, (n, c) predictions → (n, d·c): the flattened outer product f gᵀ of each row."""

    def __init__(self, feature_dim: int, num_classes: int) -> None:
        super().__init__()
        self.out_dim = feature_dim * num_classes

    def forward(self, features: torch.Tensor, predictions: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nd,nc->ndc", features, predictions).reshape(len(features), -1)


class RandomizedMultilinearMap(nn.Module):
    """(n, d), (n, c) → (n, out_dim): (R_f f) ⊙ (R_g g) / √out_dim, R_f and R_g fixed N(0, 1) draws.

    The random matrices are buffers: saved with the checkpoint, never trained. They are drawn from
    their own generator seeded with `seed`, so the map does not depend on the global RNG state.
    """

    def __init__(self, feature_dim: int, num_classes: int, out_dim: int = 1024, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.out_dim = out_dim
        self.register_buffer("feature_projection", torch.randn(feature_dim, out_dim, generator=generator))
        self.register_buffer("prediction_projection", torch.randn(num_classes, out_dim, generator=generator))

    def forward(self, features: torch.Tensor, predictions: torch.Tensor) -> torch.Tensor:
        projected = (features @ self.feature_projection) * (predictions @ self.prediction_projection)
        return projected / math.sqrt(self.out_dim)


def multilinear_map(
    feature_dim: int,
    num_classes: int,
    randomized: bool | None = None,
    max_dim: int = 4096,
    out_dim: int = 1024,
) -> MultilinearMap | RandomizedMultilinearMap:
    """The full map, or the randomized one when `randomized` is True (or None and d·c > `max_dim`)."""
    if randomized is None:
        randomized = feature_dim * num_classes > max_dim
    if randomized:
        return RandomizedMultilinearMap(feature_dim, num_classes, out_dim)
    return MultilinearMap(feature_dim, num_classes)


def entropy(probabilities: torch.Tensor) -> torch.Tensor:
    """(n, c) → (n,) Shannon entropy in nats."""
    return -(probabilities * probabilities.clamp_min(1e-12).log()).sum(dim=1)


def entropy_weights(probabilities: torch.Tensor) -> torch.Tensor:
    """w = 1 + e^{−H(g)}, rescaled to mean 1 within the sample (so the loss keeps its scale)."""
    weights = 1.0 + torch.exp(-entropy(probabilities))
    return weights / weights.mean()


class ConditionalDomainAdversarialLoss(nn.Module):
    """BCE of a discriminator on the (reversed) multilinear map of features and predictions.

    Takes source and target features (n_s, d), (n_t, d) and logits (n_s, c), (n_t, c). Predictions
    g = softmax(logits) are detached, as in the authors' code: the conditioning is not itself trained
    through the adversarial game; gradients reach the features only, reversed by `self.grl` (set its
    `coeff` λ from a schedule each step). Returns (loss, discriminator accuracy); label 1 = source.
    """

    def __init__(self, discriminator: nn.Module, feature_map: nn.Module, entropy_conditioning: bool = True):
        super().__init__()
        self.discriminator = discriminator
        self.feature_map = feature_map
        self.entropy_conditioning = entropy_conditioning
        self.grl = GradientReversal()

    def forward(
        self,
        source_features: torch.Tensor,
        target_features: torch.Tensor,
        source_logits: torch.Tensor,
        target_logits: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        features = torch.cat([source_features, target_features])
        predictions = F.softmax(torch.cat([source_logits, target_logits]).detach().float(), dim=-1)
        logits = self.discriminator(self.grl(self.feature_map(features, predictions.to(features.dtype))))
        n_source, n_target = len(source_features), len(target_features)
        labels = torch.cat([logits.new_ones(n_source), logits.new_zeros(n_target)])
        if self.entropy_conditioning:  # weighted per domain, so neither domain's count changes its share
            weights = torch.cat(
                [entropy_weights(predictions[:n_source]), entropy_weights(predictions[n_source:])]
            ).to(logits.dtype)
        else:
            weights = None
        loss = F.binary_cross_entropy_with_logits(logits, labels, weight=weights)
        accuracy = ((logits > 0).to(labels.dtype) == labels).float().mean()
        return loss, accuracy.detach()
