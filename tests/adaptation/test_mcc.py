"""Minimum Class Confusion against a hand computation and a loop-by-loop numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nlp_transfer.adaptation.mcc import MinimumClassConfusionLoss, class_confusion, entropy_weights


def numpy_mcc(logits: np.ndarray, temperature: float) -> tuple[np.ndarray, float]:
    """The paper's loss written out with loops: (normalised confusion, loss)."""
    scaled = np.exp(logits / temperature)
    probs = scaled / scaled.sum(axis=1, keepdims=True)
    entropies = [-sum(p * np.log(p) for p in row if p > 0) for row in probs]
    raw = np.array([1.0 + np.exp(-h) for h in entropies])
    weights = len(probs) * raw / raw.sum()
    classes = probs.shape[1]
    confusion = np.zeros((classes, classes))
    for i, row in enumerate(probs):
        confusion += weights[i] * np.outer(row, row)
    confusion /= confusion.sum(axis=1, keepdims=True)
    return confusion, (confusion.sum() - np.trace(confusion)) / classes


def test_confusion_matrix_and_loss_of_a_three_example_batch_by_hand() -> None:
    # rows sure of class 0, sure of class 1, and undecided: P = [[1, 0], [0, 1], [½, ½]], T = 1
    logits = torch.tensor([[0.0, -1e4], [-1e4, 0.0], [0.0, 0.0]], dtype=torch.float64)
    # H = 0, 0, ln 2 → 1 + e^{−H} = 2, 2, 3/2 (sum 11/2) → W = 3·(2, 2, 3/2)/(11/2) = (12, 12, 9)/11
    probs = torch.softmax(logits, dim=1)
    assert entropy_weights(probs).tolist() == pytest.approx([12 / 11, 12 / 11, 9 / 11])
    # C = 12/11·e0e0ᵀ + 12/11·e1e1ᵀ + 9/11·¼·11ᵀ = [[57, 9], [9, 57]]/44; rows sum to 66/44
    confusion = class_confusion(logits, temperature=1.0)
    assert confusion.numpy() == pytest.approx(np.array([[19, 3], [3, 19]]) / 22)
    # L = (Σ C̃ − tr C̃)/K = (2 − 38/22)/2 = 3/22
    assert MinimumClassConfusionLoss(temperature=1.0)(logits).item() == pytest.approx(3 / 22)


def test_matches_numpy_at_the_papers_temperature() -> None:
    logits = torch.randn(3, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3
    expected_confusion, expected_loss = numpy_mcc(logits.numpy(), temperature=2.5)
    assert class_confusion(logits, 2.5).numpy() == pytest.approx(expected_confusion, rel=1e-12)
    assert MinimumClassConfusionLoss()(logits).item() == pytest.approx(expected_loss, rel=1e-12)


def test_no_confusion_for_sure_distinct_rows_and_most_for_uniform_ones() -> None:
    loss = MinimumClassConfusionLoss(temperature=1.0)
    assert loss(100.0 * torch.eye(3)).item() == pytest.approx(0.0, abs=1e-12)
    assert loss(torch.zeros(5, 3)).item() == pytest.approx(2 / 3)  # C̃ = 1/K everywhere: (K − 1)/K


def test_gradient_flows_through_predictions_not_weights_and_bf16_autocast_stays_float32() -> None:
    logits = torch.randn(6, 3, generator=torch.Generator().manual_seed(1), requires_grad=True)
    MinimumClassConfusionLoss()(logits).backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    by_hand = logits.detach().clone().requires_grad_()  # the same loss, the weights held constant
    probs = torch.softmax(by_hand / 2.5, dim=1)
    entropies = -(probs * probs.log()).sum(1).detach()
    weights = 6 * (1 + torch.exp(-entropies)) / (1 + torch.exp(-entropies)).sum()
    confusion = (probs * weights[:, None]).T @ probs
    confusion = confusion / confusion.sum(1, keepdim=True)
    ((confusion.sum() - confusion.trace()) / 3).backward()
    assert torch.allclose(logits.grad, by_hand.grad, atol=1e-7)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = MinimumClassConfusionLoss()(logits.detach().bfloat16())
    assert low.dtype == torch.float32
    expected = MinimumClassConfusionLoss()(logits.detach().bfloat16().float())
    assert low.item() == pytest.approx(expected.item(), rel=1e-6)


def test_bad_inputs_fail_early() -> None:
    with pytest.raises(ValueError, match="temperature must be positive"):
        MinimumClassConfusionLoss(temperature=0.0)
    with pytest.raises(ValueError, match=r"classes ≥ 2.*\(4, 1\)"):
        MinimumClassConfusionLoss()(torch.zeros(4, 1))
