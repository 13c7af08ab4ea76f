"""The cheap dropout pattern: independent entries kept with probability q = round((1 − p) · 2¹⁶) / 2¹⁶."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from nlp_transfer.models.backbone import random_bert
from nlp_transfer.models.dropout_pattern import CheapDropout, inverse_keep, keep_pattern, keep_probability

COUNT = 2**22


def test_the_keep_probability_is_one_minus_p_to_two_to_the_minus_16() -> None:
    assert keep_probability(0.1) == round(0.9 * 65536) / 65536 == pytest.approx(0.9, abs=2**-17)
    assert keep_probability(0.0) == 1.0 and keep_probability(1.0) == 0.0
    assert inverse_keep(0.1) == pytest.approx(1 / keep_probability(0.1)) and inverse_keep(1.0) == 0.0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        keep_probability(1.5)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.03])
def test_the_share_kept_is_q_within_five_binomial_sigmas_at_every_draw_position(p: float) -> None:
    """Each 64-bit draw gives 4 entries: each of the 4 positions must be kept with probability q."""
    torch.manual_seed(0)
    keep = keep_pattern((COUNT,), p)
    q = keep_probability(p)
    sigma = math.sqrt(q * (1 - q) / (COUNT // 4))
    for position in range(4):
        assert abs(keep[position::4].double().mean().item() - q) < 5 * sigma, position


def test_neighbouring_entries_are_independent() -> None:
    """Entries from the same draw (positions 0 and 1) and from neighbouring draws: a 2×2 table's χ² test."""
    torch.manual_seed(1)
    keep = keep_pattern((COUNT,), 0.5).view(-1, 4)
    for a, b in ((keep[:, 0], keep[:, 1]), (keep[:, 3], keep[:, 2]), (keep[:-1, 3], keep[1:, 0])):
        table = [[int((a & b).sum()), int((a & ~b).sum())], [int((~a & b).sum()), int((~a & ~b).sum())]]
        assert stats.chi2_contingency(table).pvalue > 1e-4, table


def test_the_default_generator_reproduces_it_and_the_edges_are_exact() -> None:
    torch.manual_seed(5)
    first = keep_pattern((3, 5, 7), 0.2)
    torch.manual_seed(5)
    assert first.shape == (3, 5, 7) and first.dtype == torch.bool
    assert torch.equal(first, keep_pattern((3, 5, 7), 0.2))
    assert keep_pattern((9,), 0.0).all() and not keep_pattern((9,), 1.0).any()
    assert keep_pattern((9,), 1e-7).all()  # q rounds to 1: nothing dropped, nothing drawn


def test_cheap_dropout_keeps_with_q_scales_by_its_inverse_and_passes_the_gradient_through_kept_entries() -> (
    None
):
    layer = CheapDropout(0.25).train()
    x = (torch.rand(512, 512) + 1.0).requires_grad_()  # no zeros of its own
    torch.manual_seed(3)
    y = layer(x)
    kept = y != 0
    torch.testing.assert_close(y[kept], (x * inverse_keep(0.25))[kept])
    assert abs(kept.double().mean().item() - keep_probability(0.25)) < 5 * math.sqrt(
        0.25 * 0.75 / kept.numel()
    )
    y.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() * inverse_keep(0.25))
    torch.manual_seed(3)
    assert torch.equal(layer(x) != 0, kept)  # the same draws as keep_pattern under the same seed
    assert torch.equal(layer.eval()(x), x)  # evaluation: identity


def test_the_backbone_swaps_every_hidden_dropout_and_the_switch_keeps_torchs() -> None:
    cheap = random_bert()
    plain = random_bert(recompute_attention=False)
    dropouts = [m for m in plain.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts and all(type(m) is torch.nn.Dropout for m in dropouts)
    swapped = [m for m in cheap.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(swapped) == len(dropouts) and all(type(m) is CheapDropout for m in swapped)
    assert [m.p for m in swapped] == [m.p for m in dropouts]
