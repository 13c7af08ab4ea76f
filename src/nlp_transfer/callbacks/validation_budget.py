"""Refuse a budget that ends before its first validation: its checkpoint could never be chosen.

The best checkpoint is picked on validation (`checkpoint_metric`); a run whose training stops before
Lightning ever validates (`check_val_every_n_epoch` beyond `max_epochs`, `val_check_interval` beyond
`max_steps`, `limit_val_batches=0`, or `max_steps` shorter than the first epoch when validating at epoch
ends) would test whatever weights it ended with and report them as `ok`, with no checkpoint. The check runs
at `on_train_start`, when Lightning has counted the batches, so it is exact for any data size and limit.
Runs without a monitoring checkpoint callback (`callbacks=none`, benchmarks) test their final weights on
purpose and are left alone.
"""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback, ModelCheckpoint


class ValidationBudgetError(ValueError):
    """Training would end before its first validation, so no checkpoint would be chosen."""


def first_validation_batch(trainer: pl.Trainer) -> float | None:
    """The training batch (counted from 1 over the whole run) after which Lightning first validates.

    None for time-based validation (`val_check_interval` as a duration), which has no batch to name.
    """
    per_epoch, check_batch = trainer.num_training_batches, trainer.val_check_batch
    if check_batch is None or per_epoch == math.inf:
        return None
    check_batch = per_epoch if check_batch == math.inf else check_batch
    every_n_epochs = trainer.check_val_every_n_epoch
    if every_n_epochs is None:  # `val_check_interval` counts batches over the whole run
        return check_batch
    return (every_n_epochs - 1) * per_epoch + check_batch


def trained_batches(trainer: pl.Trainer) -> float:
    """How many training batches the budget allows: the first of `max_steps` and `max_epochs` to end."""
    steps, epochs = trainer.max_steps, trainer.max_epochs
    by_steps = steps * trainer.accumulate_grad_batches if steps is not None and steps >= 0 else math.inf
    by_epochs = epochs * trainer.num_training_batches if epochs is not None and epochs >= 0 else math.inf
    return min(by_steps, by_epochs)


def validation_budget_problem(trainer: pl.Trainer) -> str | None:
    """Why validation never runs before training ends, with the keys to change; None when it does."""
    if trainer.limit_val_batches == 0:
        return "trainer.limit_val_batches=0 validates nothing; use a positive count or share (1.0)"
    first, budget = first_validation_batch(trainer), trained_batches(trainer)
    if first is None or first <= budget:
        return None
    return (
        f"training stops after {budget:g} batches (trainer.max_steps={trainer.max_steps}, "
        f"trainer.max_epochs={trainer.max_epochs}, {trainer.num_training_batches:g} batches per epoch) "
        f"but first validates after batch {first:g} (trainer.val_check_interval="
        f"{trainer.val_check_interval}, trainer.check_val_every_n_epoch={trainer.check_val_every_n_epoch}). "
        f"Validate within the budget, e.g. `trainer.val_check_interval={int(min(budget, 1e9))} "
        f"trainer.check_val_every_n_epoch=null`, or raise trainer.max_steps / trainer.max_epochs"
    )


class ValidationBudgetGuard(Callback):
    """Stops `fit` before its first batch when a monitored checkpoint could never be chosen."""

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        checkpoint: Any = trainer.checkpoint_callback
        if not isinstance(checkpoint, ModelCheckpoint) or checkpoint.monitor is None:
            return
        if (problem := validation_budget_problem(trainer)) is not None:
            raise ValidationBudgetError(
                f"Refusing to train: no validation would run before the end, so `{checkpoint.monitor}` "
                f"could never choose a checkpoint: {problem}."
            )
