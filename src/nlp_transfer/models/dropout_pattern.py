"""Dropout keep patterns from a quarter of the random draws, for attention dropout on the CPU.

Why: `torch.nn.functional.dropout` draws one random number per entry (`bernoulli_`), and BERT's attention
dropout (0.1) runs on every (batch, heads, seq, seq) score: 12.6M draws per layer for MiniLM at batch
16 × 256, ~110 ms each on this project's 2-core CPU, a quarter of a bf16 training step
(torch.profiler; issue 14). Here one 64-bit draw gives four independent 16-bit uniforms: 19 ms for
the same pattern size. Used by the CPU training attention (models/recomputed_attention.py) and, through
`CheapDropout`, by the encoder's hidden-state dropouts (two per layer and the embeddings': at 128 tokens a
third of the draws).

The distribution: an entry is kept when its 16-bit uniform u ∈ {0, …, 65535} is below
round((1 − p) · 2¹⁶), so the keep probability is q = round((1 − p) · 2¹⁶) / 2¹⁶ (0.899994 for p = 0.1),
independently per entry, and kept entries are scaled by 1/q (inverted dropout: the expectation is
unchanged, as F.dropout's 1/(1 − p) keeps it). The draws come from torch's default generator, so
`torch.manual_seed` / Lightning's `seed_everything` and checkpointed RNG states reproduce them.
"""

from __future__ import annotations

import math

import torch

#: resolution of one uniform: a 64-bit draw holds four of them
BITS = 16


def keep_probability(p: float) -> float:
    """q: 1 − p rounded to a multiple of 2⁻¹⁶ (the probability each entry is kept)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must lie in [0, 1], got {p}")
    return round((1.0 - p) * 2**BITS) / 2**BITS


def keep_pattern(shape: tuple[int, ...], p: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """Boolean tensor of `shape`, True = keep: each entry independently, with probability keep_probability(p)
    (all True for p = 0, all False for p = 1)."""
    kept = round(keep_probability(p) * 2**BITS)
    if kept >= 2**BITS:
        return torch.ones(shape, dtype=torch.bool, device=device)
    if kept == 0:
        return torch.zeros(shape, dtype=torch.bool, device=device)
    count = math.prod(shape)
    words = torch.empty(-(-count // 4), dtype=torch.int64, device=device)
    words.random_(-(2**63), 2**63 - 1)  # 64 uniform bits per word (range 2⁶⁴ − 1: bias 2⁻⁶⁴)
    uniforms = words.view(torch.int16)[:count].view(shape)  # int16: u − 2¹⁵
    return uniforms < kept - 2 ** (BITS - 1)


def inverse_keep(p: float) -> float:
    """The scale of kept entries, 1/q (0 when nothing is kept)."""
    q = keep_probability(p)
    return 1.0 / q if q > 0 else 0.0


class CheapDropout(torch.nn.Dropout):
    """`nn.Dropout` whose CPU training pattern comes from `keep_pattern`; elsewhere (evaluation, GPUs, whose
    generator is fast) it is `nn.Dropout`. A subclass, so code that looks for dropout modules finds it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0 or x.device.type != "cpu" or not x.is_floating_point():
            return super().forward(x)
        keep = keep_pattern(tuple(x.shape), self.p, x.device)
        scaled = x.masked_fill(~keep, 0.0) * inverse_keep(self.p)
        return x.copy_(scaled) if self.inplace else scaled


def with_cheap_dropout(model: torch.nn.Module) -> torch.nn.Module:
    """Replace every plain `nn.Dropout` below `model` by a `CheapDropout` of the same p (in place)."""
    for module in list(model.modules()):
        for name, child in module.named_children():
            if type(child) is torch.nn.Dropout:
                setattr(module, name, CheapDropout(child.p, child.inplace))
    return model
