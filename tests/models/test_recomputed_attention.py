"""CPU training attention: the formula of torch's attention with dropout, a cheap dropout pattern, and (above
MIN_SCORES) no (batch, heads, seq, seq) memory kept for backward."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from nlp_transfer.models import recomputed_attention
from nlp_transfer.models.backbone import random_bert
from nlp_transfer.models.dropout_pattern import inverse_keep, keep_pattern
from nlp_transfer.models.recomputed_attention import NAME, RecomputedAttention

B, H, N, D = 3, 2, 7, 4


def qkv(dtype: torch.dtype) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(B, H, N, D, generator=generator).to(dtype).requires_grad_() for _ in range(3)]


def padding_mask() -> torch.Tensor:
    """(B, 1, N, N) boolean, True = attend; the second text has 5 real tokens, the others 7."""
    mask = torch.ones(B, 1, N, N, dtype=torch.bool)
    mask[1, :, :, 5:] = False
    return mask


def hand_attention(q, k, v, mask: torch.Tensor, keep: torch.Tensor, p: float) -> torch.Tensor:  # noqa: ANN001
    """softmax(q kᵀ / √d, masked) with `keep` applied and scaled by 1/q, then · v, in float64."""
    q, k, v = (t.double() for t in (q, k, v))
    scores = q @ k.transpose(-2, -1) / D**0.5
    scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask.double()
    return (torch.softmax(scores, dim=-1) * keep * inverse_keep(p)) @ v


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("additive", [False, True])
@pytest.mark.parametrize("recompute", [False, True])
def test_output_and_gradients_equal_the_formula_with_the_drawn_pattern(dtype, additive, recompute) -> None:
    q, k, v = qkv(dtype)
    mask = padding_mask()
    if additive:
        mask = torch.zeros(mask.shape, dtype=dtype).masked_fill(~mask, float("-inf"))
    grad = torch.randn(B, H, N, D, generator=torch.Generator().manual_seed(1)).to(dtype)
    torch.manual_seed(7)
    keep = keep_pattern((B, H, N, N), 0.3)
    expected = hand_attention(q, k, v, mask, keep, 0.3)
    expected_grads = torch.autograd.grad(expected, (q, k, v), grad.double())
    torch.manual_seed(7)  # the same draws
    if recompute:
        got = RecomputedAttention.apply(q, k, v, mask, D**-0.5, 0.3)
    else:
        got, _ = recomputed_attention._attend(q, k, v, mask, D**-0.5, 0.3, dropped=None)
    got_grads = torch.autograd.grad(got, (q, k, v), grad)
    tolerance = {"atol": 1e-5, "rtol": 1e-5} if dtype == torch.float32 else {"atol": 2e-2, "rtol": 2e-2}
    torch.testing.assert_close(got.double(), expected, **tolerance)
    for g, e in zip(got_grads, expected_grads, strict=True):
        torch.testing.assert_close(g.double(), e.double(), **tolerance)
    # dropout really dropped: the outputs differ from the no-dropout attention
    assert not torch.allclose(got, F.scaled_dot_product_attention(q, k, v, attn_mask=padding_mask()))


def test_without_dropout_it_is_torchs_attention() -> None:
    q, k, v = qkv(torch.float32)
    got, _ = recomputed_attention._attend(q, k, v, padding_mask(), D**-0.5, 0.0, dropped=None)
    torch.testing.assert_close(got, F.scaled_dot_product_attention(q, k, v, attn_mask=padding_mask()))


def test_keeps_no_float_score_matrix_for_backward() -> None:
    q, k, v = qkv(torch.bfloat16)
    saved: list[torch.Tensor] = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        RecomputedAttention.apply(q, k, v, padding_mask(), D**-0.5, 0.1)
    scores_like = [t for t in saved if t.shape[-2:] == (N, N) and t.shape[:2] == (B, H)]
    assert scores_like and all(t.dtype == torch.bool for t in scores_like)  # only the keep pattern


def bert_forward(bf16: bool) -> tuple[torch.Tensor, torch.nn.Module]:
    """Loss of one training forward of the tiny BERT (dropout on) on a padded batch, and the model."""
    model = random_bert(num_attention_heads=4).train()
    ids = torch.randint(1000, 2000, (4, 12), generator=torch.Generator().manual_seed(2))
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    torch.manual_seed(3)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = model(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0].square().mean()
    return loss, model


def bert_step(bf16: bool) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """Loss, gradients and what the forward kept for backward (4-d tensors with score-matrix shape)."""
    saved: list[torch.Tensor] = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        loss, model = bert_forward(bf16)
    loss.backward()
    scores = [t for t in saved if t.shape == (4, 4, 12, 12)]
    return loss.detach(), [p.grad for p in model.parameters() if p.grad is not None], scores


@pytest.mark.parametrize("bf16", [False, True])
def test_a_bert_training_step_is_the_same_recomputed_or_kept(bf16, monkeypatch) -> None:
    """Above MIN_SCORES the backward recomputes the scores; below it autograd keeps them: same numbers."""
    monkeypatch.setattr(recomputed_attention, "MIN_SCORES", 0)  # recompute even this tiny batch's scores
    loss, grads, kept = bert_step(bf16)
    assert kept and all(t.dtype == torch.bool for t in kept)  # only the pattern: the scores are recomputed
    monkeypatch.setattr(recomputed_attention, "MIN_SCORES", 2**62)  # autograd keeps the scores
    expected_loss, expected_grads, kept = bert_step(bf16)
    assert any(t.dtype == torch.float32 for t in kept) and any(t.dtype == torch.bool for t in kept)
    torch.testing.assert_close(loss, expected_loss, atol=1e-6, rtol=1e-5)
    assert len(grads) == len(expected_grads)
    for g, e in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(g, e, atol=1e-5, rtol=1e-4)


def test_small_training_batches_draw_the_cheap_pattern_too(monkeypatch) -> None:
    """Below MIN_SCORES (every default batch) training attention still draws through keep_pattern."""
    shapes: list[tuple[int, ...]] = []
    original = recomputed_attention.keep_pattern
    monkeypatch.setattr(
        recomputed_attention,
        "keep_pattern",
        lambda shape, *a, **k: shapes.append(shape) or original(shape, *a, **k),
    )
    bert_step(bf16=False)
    assert shapes and set(shapes) == {(4, 4, 12, 12)}  # one pattern per layer, of the scores' shape


def test_the_backbone_uses_it_and_can_switch_it_off() -> None:
    assert random_bert().config._attn_implementation == NAME
    assert random_bert(recompute_attention=False).config._attn_implementation == "sdpa"
