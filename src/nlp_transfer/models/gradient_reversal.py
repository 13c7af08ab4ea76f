"""Gradient reversal (Ganin & Lempitsky 2015; Ganin et al. 2016, JMLR 17(59)).

Forward is the identity; backward multiplies the incoming gradient by −λ, so the encoder
is pushed to *confuse* the domain discriminator that sits behind this layer.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, inputs: torch.Tensor, coeff: float) -> torch.Tensor:
        ctx.coeff = coeff
        return inputs.view_as(inputs)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.coeff * grad_output, None


def reverse_gradient(inputs: torch.Tensor, coeff: float = 1.0) -> torch.Tensor:
    """Identity forward, −coeff × gradient backward."""
    return _ReverseGradient.apply(inputs, coeff)


class GradientReversal(nn.Module):
    """Gradient reversal with a settable coefficient λ (the strategy updates it from its schedule)."""

    def __init__(self, coeff: float = 1.0) -> None:
        super().__init__()
        self.coeff = coeff

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return reverse_gradient(inputs, self.coeff)

    def extra_repr(self) -> str:
        return f"coeff={self.coeff}"
