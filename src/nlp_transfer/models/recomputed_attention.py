"""CPU training attention with dropout: a cheap dropout pattern, and no score matrices kept for backward.

Why: on the CPU, PyTorch's fused scaled-dot-product kernel takes no dropout, so a training step with
attention dropout (BERT's 0.1) runs the composite "math" path, which upcasts bf16 to fp32, draws one
random number per score (`bernoulli_`: a quarter of a MiniLM bf16 step at 16 × 256, issue 14) and keeps
three fp32 tensors of shape (batch, heads, seq, seq) per layer for backward: the softmax output, the
dropout noise and the dropped probabilities. For MiniLM at batch 32 × 256 tokens that is 1.7 GB of the
2.7 GB the forward keeps (scripts/bench_memory.py; issue 14).

Here the same formula, softmax(q kᵀ · scale + mask) · dropout → · v (Vaswani et al. 2017, eq. 1), in the
same precision (fp32 for bf16/fp16 inputs, as the math path), with the dropout pattern drawn four entries
per 64-bit random number (models/dropout_pattern.py: keep probability 1 − p to 2⁻¹⁶, kept entries scaled by
its inverse) and kept as booleans. Score tensors of at least `MIN_SCORES` entries are not kept at all: the
backward recomputes them from q, k, v, the mask and the pattern (about 2 × batch × heads × seq² × head_dim
extra FLOPs per layer), which takes the batch-32 × 256 step under 3 GB; smaller ones go through autograd
as usual, the cheap pattern alone saving time.

Registered with transformers as the attention implementation `sdpa_recomputed`. Everywhere this path
brings nothing (evaluation, no dropout, no gradient, a GPU whose fused kernels take dropout) it hands over
to transformers' own `sdpa` function, so inference is unchanged.
"""

from __future__ import annotations

from typing import Any

import torch

from nlp_transfer.models.dropout_pattern import inverse_keep, keep_pattern, with_cheap_dropout

NAME = "sdpa_recomputed"
#: recompute only when one layer's score tensor has at least this many entries (batch × heads × q × k):
#: 2**24 is 64 MiB per fp32 copy, 192 MiB kept per layer by the math path. Below it the recomputation
#: (+25 % CPU time per MiniLM step at 256 tokens, +3 % at 128) buys little memory; above it (MiniLM at
#: batch 32 × 256: 25M) it takes the peak under 3 GB. Read at every call.
MIN_SCORES = 2**24


def _attend(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None,
    scale: float, p: float, dropped: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """(output in the inputs' dtype, boolean dropout pattern); draws a fresh pattern when `dropped` is None.

    Shapes: query (b, h, q, d), key/value (b, h, k, d), mask broadcastable to (b, h, q, k): boolean
    (True = attend) or additive. Every step on the (b, h, q, k) scores is one pass over them, in place
    where autograd allows; the small tensors (q, k, the mask) take the scaling and the mask conversion.
    """
    compute = torch.float32 if query.dtype in (torch.bfloat16, torch.float16) else query.dtype
    with torch.autocast(query.device.type, enabled=False):
        root = scale**0.5  # √scale on q and on k, as torch's math path scales them
        scores = torch.matmul(query.to(compute) * root, key.to(compute).transpose(-2, -1) * root)
        if mask is not None:
            if mask.dtype == torch.bool:
                mask = torch.zeros(mask.shape, dtype=compute).masked_fill_(~mask, float("-inf"))
            scores.add_(mask)
        probs = torch.softmax(scores, dim=-1)
        if mask is not None and (empty := torch.isneginf(mask).all(dim=-1, keepdim=True)).any():
            probs = probs.masked_fill(empty, 0.0)  # a query that may attend to nothing: zeros, not NaN
        if dropped is None:
            dropped = ~keep_pattern(tuple(probs.shape), p, probs.device)
        probs = (probs * inverse_keep(p)).masked_fill_(dropped, 0.0)
        return torch.matmul(probs, value.to(compute)).to(query.dtype), dropped


class RecomputedAttention(torch.autograd.Function):
    """Dropout attention whose backward recomputes the scores from q, k, v and the saved keep pattern."""

    @staticmethod
    def forward(ctx: Any, query, key, value, mask, scale: float, p: float):  # noqa: ANN001, ANN205
        output, dropped = _attend(query, key, value, mask, scale, p, dropped=None)
        ctx.save_for_backward(query, key, value, mask, dropped)
        ctx.scale, ctx.p = scale, p
        return output

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor):  # noqa: ANN205
        query, key, value, mask, dropped = ctx.saved_tensors
        needs = ctx.needs_input_grad[:3]
        inputs = [t.detach().requires_grad_(need) for t, need in zip((query, key, value), needs, strict=True)]
        with torch.enable_grad():
            output, _ = _attend(*inputs, mask, ctx.scale, ctx.p, dropped=dropped)
        wanted = [t for t in inputs if t.requires_grad]
        grads = iter(torch.autograd.grad(output, wanted, grad_output) if wanted else ())
        return (*(next(grads) if t.requires_grad else None for t in inputs), None, None, None)


def recomputed_sdpa_forward(
    module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
    attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:  # fmt: skip
    """transformers' attention-function signature; returns ((b, q, h, d) output, None) like `sdpa`."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in (query, key, value))
    plain = (dropout == 0.0 or not needs_grad or query.device.type != "cpu"
             or kwargs.get("is_causal") or key.shape[1] != query.shape[1]
             or kwargs.get("position_bias") is not None)  # fmt: skip
    if (
        plain
    ):  # no dropout, nothing kept for backward, or a case this function does not cover: torch's kernels
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout, scaling, **kwargs)
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    if query.shape[0] * query.shape[1] * query.shape[2] * key.shape[2] < MIN_SCORES:
        output, _ = _attend(query, key, value, attention_mask, scale, dropout, dropped=None)  # autograd keeps
    else:
        output = RecomputedAttention.apply(query, key, value, attention_mask, scale, dropout)
    return output.transpose(1, 2).contiguous(), None


def register() -> None:
    """Make `sdpa_recomputed` a transformers attention implementation (masks built as for `sdpa`)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    AttentionInterface.register(NAME, recomputed_sdpa_forward)
    ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, sdpa_mask)


def with_recomputed_attention(model: Any, enabled: bool) -> Any:
    """Switch a model that uses `sdpa` attention to `sdpa_recomputed` (others are left as they are), and
    its hidden-state `nn.Dropout`s to the cheap pattern (`CheapDropout`): the project's CPU training path
    (`backbone.encoder.recompute_attention`)."""
    if enabled and getattr(model.config, "_attn_implementation", None) == "sdpa":
        register()
        model.set_attn_implementation(NAME)
    return with_cheap_dropout(model) if enabled else model
