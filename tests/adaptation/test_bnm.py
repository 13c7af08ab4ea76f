"""Batch nuclear-norm maximisation against numpy's SVD and hand cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nlp_transfer.adaptation.bnm import BatchNuclearNormLoss, nuclear_norm


def test_nuclear_norm_matches_numpy_svd() -> None:
    matrix = torch.rand(7, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    expected = np.linalg.svd(matrix.numpy(), compute_uv=False).sum()
    assert nuclear_norm(matrix).item() == pytest.approx(expected, rel=1e-12)


def test_loss_is_minus_the_nuclear_norm_of_the_softmax_over_rows() -> None:
    logits = torch.randn(5, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    probs = torch.softmax(logits, dim=1).numpy()
    expected = -np.linalg.svd(probs, compute_uv=False).sum() / 5
    assert BatchNuclearNormLoss()(logits).item() == pytest.approx(expected, rel=1e-12)


def test_diverse_confident_rows_score_best_and_a_collapsed_batch_worse() -> None:
    loss = BatchNuclearNormLoss()
    diverse = 100.0 * torch.eye(3, dtype=torch.float64)  # P = I: singular values 1, 1, 1
    collapsed = 100.0 * torch.tensor([[1.0, 0.0, 0.0]] * 3, dtype=torch.float64)  # rank 1: √3
    assert loss(diverse).item() == pytest.approx(-1.0)
    assert loss(collapsed).item() == pytest.approx(-math.sqrt(3) / 3)


def test_finite_gradient_and_a_float32_svd_under_bf16_autocast() -> None:
    logits = torch.randn(8, 4, generator=torch.Generator().manual_seed(2), requires_grad=True)
    BatchNuclearNormLoss()(logits).backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = BatchNuclearNormLoss()(logits.detach().bfloat16())
    assert low.dtype == torch.float32
    assert low.item() == pytest.approx(BatchNuclearNormLoss()(logits.detach().bfloat16().float()).item())


def test_bad_inputs_fail_early() -> None:
    with pytest.raises(ValueError, match="rows ≥ 1"):
        BatchNuclearNormLoss()(torch.zeros(0, 3))
    with pytest.raises(ValueError, match=r"\(rows, columns\)"):
        nuclear_norm(torch.zeros(3))
