import torch
from torch.nn import functional as F

from nlp_transfer.adaptation.dann import DomainAdversarialLoss
from nlp_transfer.models.discriminator import DomainDiscriminator


def test_loss_is_bce_with_source_one_and_target_zero() -> None:
    torch.manual_seed(0)
    disc = DomainDiscriminator(8, hidden_dim=16, dropout=0.0)
    loss_fn = DomainAdversarialLoss(disc)
    source, target = torch.randn(5, 8), torch.randn(3, 8)
    loss, accuracy = loss_fn(source, target)
    logits = disc(torch.cat([source, target]))
    expected = F.binary_cross_entropy_with_logits(logits, torch.tensor([1.0] * 5 + [0.0] * 3))
    assert torch.allclose(loss, expected)
    manual_acc = ((logits[:5] > 0).sum() + (logits[5:] <= 0).sum()).item() / 8
    assert accuracy.item() == manual_acc


def test_features_get_the_reversed_discriminator_gradient() -> None:
    torch.manual_seed(1)
    disc = DomainDiscriminator(4, hidden_dim=8, dropout=0.0)
    loss_fn = DomainAdversarialLoss(disc)
    loss_fn.grl.coeff = 0.7
    source = torch.randn(2, 4, requires_grad=True)
    target = torch.randn(2, 4, requires_grad=True)
    loss_fn(source, target)[0].backward()

    plain_source = source.detach().clone().requires_grad_(True)
    plain_target = target.detach().clone().requires_grad_(True)
    logits = disc(torch.cat([plain_source, plain_target]))
    F.binary_cross_entropy_with_logits(logits, torch.tensor([1.0, 1.0, 0.0, 0.0])).backward()
    assert torch.allclose(source.grad, -0.7 * plain_source.grad)
    assert torch.allclose(target.grad, -0.7 * plain_target.grad)
