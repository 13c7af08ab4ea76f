"""The multi-source DANN loss against a hand computation: per-domain-averaged (k + 1)-way cross-entropy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nlp_transfer.adaptation.multi_domain_adversarial import MultiDomainAdversarialLoss
from nlp_transfer.models.discriminator import DomainDiscriminator


def identity_discriminator() -> nn.Module:
    """A 3-way 'discriminator' whose logits are the features themselves (so the numbers are readable)."""
    linear = nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        linear.weight.copy_(torch.eye(3))
    return linear


def test_loss_averages_each_domains_cross_entropy_by_hand() -> None:
    # k = 2 sources; 3 source rows (sources 0, 0, 1) and 1 target row (label 2); logits = features
    source = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    origin = torch.tensor([0, 0, 1])
    target = torch.tensor([[0.0, 0.0, 3.0]])
    loss, accuracy = MultiDomainAdversarialLoss(identity_discriminator(), num_sources=2)(
        source, origin, target
    )

    def nll(logits: list[float], label: int) -> float:  # −log softmax(logits)[label]
        return -(logits[label] - math.log(sum(math.exp(v) for v in logits)))

    source_0 = (nll([2, 0, 0], 0) + nll([0, 1, 0], 0)) / 2  # domain 0: mean of its two rows
    source_1 = nll([0, 0, 1], 1)
    target_2 = nll([0, 0, 3], 2)
    assert loss.item() == pytest.approx((source_0 + source_1 + target_2) / 3, rel=1e-6)
    # argmax per row: 0 (right), 1 (wrong: domain 0), 2 (wrong: domain 1), 2 (right)
    assert accuracy.item() == pytest.approx(2 / 4)


def test_one_source_is_dann_with_a_two_way_softmax() -> None:
    torch.manual_seed(0)
    disc = DomainDiscriminator(4, hidden_dim=8, dropout=0.0, out_features=2)
    source, target = torch.randn(5, 4), torch.randn(3, 4)
    loss, _ = MultiDomainAdversarialLoss(disc, num_sources=1)(
        source, torch.zeros(5, dtype=torch.long), target
    )
    logits = disc(torch.cat([source, target])).detach().numpy()
    log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    expected = (-log_probs[:5, 0].mean() - log_probs[5:, 1].mean()) / 2
    assert loss.item() == pytest.approx(float(expected), rel=1e-5)


def test_features_get_the_reversed_gradient() -> None:
    torch.manual_seed(1)
    disc = DomainDiscriminator(4, hidden_dim=8, dropout=0.0, out_features=3)
    loss_fn = MultiDomainAdversarialLoss(disc, num_sources=2)
    loss_fn.grl.coeff = 0.5
    source = torch.randn(4, 4, requires_grad=True)
    origin = torch.tensor([0, 1, 0, 1])
    loss_fn(source, origin, torch.zeros(2, 4))[0].backward()
    plain = source.detach().clone().requires_grad_(True)
    loss_fn.grl.coeff = 0.0  # the same loss without reversal: the plain gradient is recomputed below
    logits = disc(torch.cat([plain, torch.zeros(2, 4)]))
    labels = torch.tensor([0, 1, 0, 1, 2, 2])
    per_row = nn.functional.cross_entropy(logits, labels, reduction="none")
    torch.stack([per_row[labels == d].mean() for d in range(3)]).mean().backward()
    assert torch.allclose(source.grad, -0.5 * plain.grad)


def test_a_source_index_beyond_the_sources_is_refused() -> None:
    loss_fn = MultiDomainAdversarialLoss(identity_discriminator(), num_sources=2)
    with pytest.raises(ValueError, match=r"0 … 1"):
        loss_fn(torch.zeros(1, 3), torch.tensor([2]), torch.zeros(1, 3))
