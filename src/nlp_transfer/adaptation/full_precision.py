"""Float32 arithmetic for the statistics losses (MMD, CORAL), also inside a bf16 autocast region.

Casting the inputs up is not enough under autocast: autocast runs every matmul in bf16 whatever its
inputs' dtype, and a kernel matrix or covariance difference from 8-bit-mantissa products loses the
small between-domain signal these losses measure (CORAL of two batches: ~0.4% off; MMD², which is near
0 for similar domains, off by more than itself). Inside `float32_region` autocast is off, so the losses
are computed in float32 (or float64 for float64 inputs) and return that dtype; gradients flow as usual.
"""

from __future__ import annotations

import torch


def float32_region(tensor: torch.Tensor) -> torch.autocast:
    """A context with autocast off on `tensor`'s device type."""
    return torch.autocast(tensor.device.type, enabled=False)


def at_least_float32(tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` as float32 (bf16/fp16 inputs), or unchanged when it is float32 or wider."""
    return tensor.to(torch.promote_types(tensor.dtype, torch.float32))
