import pytest
import torch

from nlp_transfer.adaptation.mmd import MultiKernelMMD, squared_distances


def samples(shift: float, n: int = 200, d: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    source = torch.randn(n, d, generator=generator)
    target = torch.randn(n, d, generator=generator) + shift
    return source, target


def test_two_samples_of_one_distribution_have_mmd_near_zero() -> None:
    source, target = samples(0.0)
    mmd = MultiKernelMMD()(source, target)
    shifted = MultiKernelMMD()(*samples(1.0))
    assert abs(mmd.item()) < 0.01
    assert abs(mmd.item()) < shifted.item() / 20


@pytest.mark.parametrize("bandwidth", ["median", "mean"])
def test_mmd_grows_monotonically_with_a_mean_shift(bandwidth: str) -> None:
    mmd = MultiKernelMMD(bandwidth=bandwidth)
    values = [mmd(*samples(shift)).item() for shift in (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)]
    assert values == sorted(values) and values[-1] > 0.1, values


def test_unbiased_estimate_matches_a_pairwise_loop() -> None:
    source, target = samples(0.5, n=6, d=3)
    mmd = MultiKernelMMD(kernel_multipliers=[0.5, 2.0])
    pooled = torch.cat([source, target])
    pair_distances = [
        ((a - b) ** 2).sum() for i, a in enumerate(pooled) for j, b in enumerate(pooled) if i != j
    ]
    base = torch.stack(pair_distances).median()

    def k(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        squared = ((x - y) ** 2).sum()
        return (torch.exp(-squared / (0.5 * base)) + torch.exp(-squared / (2.0 * base))) / 2

    ss = sum(k(a, b) for i, a in enumerate(source) for j, b in enumerate(source) if i != j) / 30
    tt = sum(k(a, b) for i, a in enumerate(target) for j, b in enumerate(target) if i != j) / 30
    st = sum(k(a, b) for a in source for b in target) / 36
    assert mmd(source, target).item() == pytest.approx((ss + tt - 2 * st).item(), rel=1e-5)


def test_biased_estimate_counts_the_diagonal_and_is_never_negative() -> None:
    source, target = samples(0.0, n=20)
    biased = MultiKernelMMD(estimator="biased")(source, target)
    unbiased = MultiKernelMMD(estimator="unbiased")(source, target)
    assert biased.item() > 0 and biased.item() > unbiased.item()


def test_squared_distances_agree_with_cdist_and_the_gradient_is_finite() -> None:
    rows = torch.randn(5, 4, requires_grad=True)
    assert torch.allclose(squared_distances(rows), torch.cdist(rows, rows) ** 2, atol=1e-5)
    MultiKernelMMD()(rows[:3], rows[3:] + 1).backward()
    assert torch.isfinite(rows.grad).all() and rows.grad.abs().sum() > 0


def test_bad_settings_and_inputs_fail_naming_the_value() -> None:
    with pytest.raises(ValueError, match="bandwidth"):
        MultiKernelMMD(bandwidth="silverman")
    with pytest.raises(ValueError, match="estimator"):
        MultiKernelMMD(estimator="linear")
    with pytest.raises(ValueError, match="≥ 2 rows"):
        MultiKernelMMD()(torch.randn(1, 3), torch.randn(4, 3))
    with pytest.raises(ValueError, match=r"\(4, 3\)"):
        MultiKernelMMD()(torch.randn(4, 2), torch.randn(4, 3))
