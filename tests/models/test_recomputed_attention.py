"""Recomputed attention: the numbers of torch's own attention, without its (batch, heads, seq, seq) memory."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from nlp_transfer.models import recomputed_attention
from nlp_transfer.models.backbone import random_bert
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


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("additive", [False, True])
def test_output_and_gradients_equal_torch_attention_with_the_same_dropout_draws(dtype, additive) -> None:
    q, k, v = qkv(dtype)
    mask = padding_mask()
    if additive:
        mask = torch.zeros(mask.shape, dtype=dtype).masked_fill(~mask, float("-inf"))
    grad = torch.randn(B, H, N, D, generator=torch.Generator().manual_seed(1)).to(dtype)
    torch.manual_seed(7)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.3)
    expected_grads = torch.autograd.grad(expected, (q, k, v), grad)
    torch.manual_seed(7)
    got = RecomputedAttention.apply(q, k, v, mask, D**-0.5, 0.3)
    got_grads = torch.autograd.grad(got, (q, k, v), grad)
    tolerance = {"atol": 1e-6, "rtol": 1e-5} if dtype == torch.float32 else {"atol": 1e-2, "rtol": 1e-2}
    torch.testing.assert_close(got, expected, **tolerance)
    for g, e in zip(got_grads, expected_grads, strict=True):
        torch.testing.assert_close(g, e, **tolerance)
    # dropout really dropped: some of the outputs differ from the no-dropout attention
    assert not torch.allclose(got, F.scaled_dot_product_attention(q, k, v, attn_mask=padding_mask()))


def test_keeps_no_float_score_matrix_for_backward() -> None:
    q, k, v = qkv(torch.bfloat16)
    saved: list[torch.Tensor] = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        RecomputedAttention.apply(q, k, v, padding_mask(), D**-0.5, 0.1)
    scores_like = [t for t in saved if t.shape[-2:] == (N, N) and t.shape[:2] == (B, H)]
    assert scores_like and all(t.dtype == torch.bool for t in scores_like)  # only the keep pattern


def bert_step(recompute: bool, bf16: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Loss and gradients of one training forward of the tiny BERT (dropout on) on a padded batch."""
    model = random_bert(num_attention_heads=4, recompute_attention=recompute).train()
    ids = torch.randint(1000, 2000, (4, 12), generator=torch.Generator().manual_seed(2))
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    torch.manual_seed(3)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = model(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0].square().mean()
    loss.backward()
    return loss.detach(), [p.grad for p in model.parameters() if p.grad is not None]


@pytest.mark.parametrize("bf16", [False, True])
def test_a_bert_training_step_is_unchanged(bf16, monkeypatch) -> None:
    monkeypatch.setattr(recomputed_attention, "MIN_SCORES", 0)  # recompute even this tiny batch's scores
    saved: list[torch.Tensor] = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        loss, grads = bert_step(recompute=True, bf16=bf16)
    assert any(t.dtype == torch.bool and t.shape == (4, 4, 12, 12) for t in saved)  # it ran
    expected_loss, expected_grads = bert_step(recompute=False, bf16=bf16)
    torch.testing.assert_close(loss, expected_loss, atol=1e-6, rtol=1e-5)
    assert len(grads) == len(expected_grads)
    for g, e in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(g, e, atol=1e-5, rtol=1e-4)


def test_the_backbone_uses_it_and_can_switch_it_off() -> None:
    assert random_bert().config._attn_implementation == NAME
    assert random_bert(recompute_attention=False).config._attn_implementation == "sdpa"
