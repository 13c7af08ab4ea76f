import math

import pytest
import torch
from torch.nn import functional as F

from nlp_transfer.adaptation.cdan import (
    ConditionalDomainAdversarialLoss,
    MultilinearMap,
    RandomizedMultilinearMap,
    entropy_weights,
    multilinear_map,
)
from nlp_transfer.models.discriminator import DomainDiscriminator


def test_multilinear_map_is_the_flattened_outer_product() -> None:
    features, predictions = torch.randn(4, 6), torch.softmax(torch.randn(4, 3), dim=1)
    mapped = MultilinearMap(6, 3)(features, predictions)
    assert mapped.shape == (4, 18)
    assert torch.allclose(mapped[2], torch.outer(features[2], predictions[2]).flatten())


def test_randomized_map_has_out_dim_and_approximates_inner_products() -> None:
    torch.manual_seed(0)
    features, predictions = torch.randn(2, 16), torch.softmax(torch.randn(2, 4), dim=1)
    randomized = RandomizedMultilinearMap(16, 4, out_dim=4096, seed=1)
    mapped = randomized(features, predictions)
    assert mapped.shape == (2, 4096)
    exact = (features[0] @ features[1]) * (predictions[0] @ predictions[1])  # <f⊗g, f'⊗g'>
    approx = mapped[0] @ mapped[1]
    assert approx.item() == pytest.approx(exact.item(), abs=0.15 * features.norm(dim=1).prod().item())


def test_map_choice_follows_the_size_threshold() -> None:
    assert isinstance(multilinear_map(384, 9), MultilinearMap)  # 3456 ≤ 4096
    chosen = multilinear_map(768, 9, out_dim=512)
    assert isinstance(chosen, RandomizedMultilinearMap) and chosen.out_dim == 512
    assert isinstance(multilinear_map(8, 2, randomized=True), RandomizedMultilinearMap)


def test_entropy_weights_favour_confident_rows_and_have_mean_one() -> None:
    confident, uniform = torch.tensor([0.98, 0.01, 0.01]), torch.full((3,), 1 / 3)
    weights = entropy_weights(torch.stack([confident, uniform]))
    assert weights[0] > weights[1] and weights.mean().item() == pytest.approx(1.0)
    assert weights[1] / weights[0] == pytest.approx((1 + 1 / 3) / (1 + math.exp(-0.1119)), rel=1e-3)


def test_without_conditioning_the_loss_is_plain_bce_on_the_map() -> None:
    torch.manual_seed(2)
    disc = DomainDiscriminator(12, hidden_dim=8, dropout=0.0)
    loss_fn = ConditionalDomainAdversarialLoss(disc, MultilinearMap(4, 3), entropy_conditioning=False)
    fs, ft, ls, lt = torch.randn(3, 4), torch.randn(2, 4), torch.randn(3, 3), torch.randn(2, 3)
    loss, _ = loss_fn(fs, ft, ls, lt)
    mapped = MultilinearMap(4, 3)(torch.cat([fs, ft]), torch.softmax(torch.cat([ls, lt]), dim=1))
    expected = F.binary_cross_entropy_with_logits(disc(mapped), torch.tensor([1.0, 1, 1, 0, 0]))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("conditioning", [True, False])
def test_features_get_the_reversed_gradient_and_predictions_none(conditioning: bool) -> None:
    torch.manual_seed(1)
    feature_map = MultilinearMap(4, 3)
    disc = DomainDiscriminator(12, hidden_dim=8, dropout=0.0)
    loss_fn = ConditionalDomainAdversarialLoss(disc, feature_map, entropy_conditioning=conditioning)
    loss_fn.grl.coeff = 0.6
    source, target = torch.randn(3, 4, requires_grad=True), torch.randn(2, 4, requires_grad=True)
    logits = torch.randn(5, 3, requires_grad=True)
    loss_fn(source, target, logits[:3], logits[3:])[0].backward()

    # the same loss without reversal, built by hand
    plain_source, plain_target = (x.detach().clone().requires_grad_(True) for x in (source, target))
    predictions = torch.softmax(logits.detach(), dim=1)
    scores = disc(feature_map(torch.cat([plain_source, plain_target]), predictions))
    weights = torch.cat([entropy_weights(predictions[:3]), entropy_weights(predictions[3:])])
    labels = torch.tensor([1.0, 1, 1, 0, 0])
    F.binary_cross_entropy_with_logits(scores, labels, weight=weights if conditioning else None).backward()

    assert plain_source.grad.abs().sum() > 0
    assert torch.allclose(source.grad, -0.6 * plain_source.grad, atol=1e-7)
    assert torch.allclose(target.grad, -0.6 * plain_target.grad, atol=1e-7)
    assert logits.grad is None  # the conditioning g is detached, as in the authors' code
