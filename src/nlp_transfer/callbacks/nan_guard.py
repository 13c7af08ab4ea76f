"""Stop a run at the first non-finite training loss, with a message that names the likely fixes.

Without it a NaN loss trains on silently, every later step is NaN, and the run ends with a
meaningless checkpoint. The check reads one scalar per step (a host sync on GPUs); set
`every_n_steps` higher to make it cheaper.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


class NanLossGuard(pl.Callback):
    def __init__(self, every_n_steps: int = 1) -> None:
        self.every_n_steps = max(1, every_n_steps)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step % self.every_n_steps:
            return
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor) and not torch.isfinite(loss.detach()).all():
            raise NonFiniteLossError(
                f"Training loss is {loss.item()} at step {trainer.global_step} (batch {batch_idx}): stopping "
                f"this run. Lower strategy.optimizer.lr, keep trainer.gradient_clip_val on, or use "
                f"trainer.precision=32-true if mixed precision overflows."
            )
