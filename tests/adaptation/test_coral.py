import numpy as np
import pytest
import torch

from nlp_transfer.adaptation.coral import CoralLoss, covariance


def test_covariance_matches_numpy() -> None:
    rows = torch.randn(10, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert np.allclose(covariance(rows).numpy(), np.cov(rows.numpy(), rowvar=False))


def test_loss_matches_the_paper_formula_against_numpy() -> None:
    generator = torch.Generator().manual_seed(1)
    source = torch.randn(12, 5, generator=generator, dtype=torch.float64)
    target = 2.0 * torch.randn(9, 5, generator=generator, dtype=torch.float64)
    difference = np.cov(source.numpy(), rowvar=False) - np.cov(target.numpy(), rowvar=False)
    expected = (difference**2).sum() / (4 * 5**2)
    assert CoralLoss()(source, target).item() == pytest.approx(expected, rel=1e-10)


def test_zero_for_identical_covariances_even_under_a_mean_shift() -> None:
    source = torch.randn(16, 6, generator=torch.Generator().manual_seed(2))
    assert CoralLoss()(source, source).item() == pytest.approx(0.0, abs=1e-12)
    assert CoralLoss()(source, source + 3.0).item() == pytest.approx(0.0, abs=1e-10)


def test_positive_when_covariances_differ() -> None:
    source = torch.randn(16, 6, generator=torch.Generator().manual_seed(3))
    stretched = source * torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 3.0])
    assert CoralLoss()(source, stretched).item() > 0.01


def test_bad_inputs_fail_early() -> None:
    with pytest.raises(ValueError, match="≥ 2 rows"):
        CoralLoss()(torch.randn(1, 3), torch.randn(4, 3))
    with pytest.raises(ValueError, match=r"\(4, 2\)"):
        CoralLoss()(torch.randn(4, 2), torch.randn(4, 3))
