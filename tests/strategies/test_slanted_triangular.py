"""ULMFiT's slanted triangular learning rate against values worked out from eq. 3 of the paper."""

from __future__ import annotations

import pytest
import torch

from nlp_transfer.strategies.optimization import slanted_triangular


def rates(total: int, **kwargs) -> list[float]:
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.01)
    scheduler = slanted_triangular(optimizer, total, **kwargs)
    seen = []
    for _ in range(total + 1):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return seen


def test_rise_peak_and_fall_of_the_paper_defaults() -> None:
    lr = rates(100)  # cut = 10; ratio 32
    assert lr[0] == pytest.approx(0.01 / 32)
    assert lr[5] == pytest.approx(0.01 * (1 + 0.5 * 31) / 32)  # halfway up
    assert lr[10] == pytest.approx(0.01)  # the peak at the cut
    assert lr[55] == pytest.approx(0.01 * (1 + 0.5 * 31) / 32)  # p = 1 − 45/90
    assert lr[100] == pytest.approx(0.01 / 32)
    assert max(lr) == lr[10]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="cut_frac"):
        rates(10, cut_frac=0.0)
    with pytest.raises(ValueError, match="ratio"):
        rates(10, ratio=0.5)
