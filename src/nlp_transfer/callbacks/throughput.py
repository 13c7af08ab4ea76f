"""Training throughput in the progress bar, the logger and results.json: every sweep row carries its cost.

Counts source (labeled) examples per second of training-step time (data loading included, validation
excluded); adaptation strategies also process an equal number of target examples per step.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytorch_lightning as pl


class ThroughputMonitor(pl.Callback):
    def __init__(self) -> None:
        self.examples = 0
        self.step_seconds: list[float] = []
        self._last_end: float | None = None

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._last_end = time.perf_counter()  # a step's time starts when the previous one ended

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._last_end = time.perf_counter()  # validation time is not training time

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        now = time.perf_counter()
        seconds = now - (self._last_end or now)
        self._last_end = now
        size = len(batch["source"]["input_ids"])
        self.examples += size
        self.step_seconds.append(seconds)
        if seconds > 0:
            pl_module.log("train/examples_per_s", size / seconds, prog_bar=True, batch_size=size)
            pl_module.log("train/step_seconds", seconds, batch_size=size)

    def summary(self) -> dict[str, float | int | None]:
        total = sum(self.step_seconds)
        return {
            "train_examples": self.examples,
            "train_step_seconds_median": statistics.median(self.step_seconds) if self.step_seconds else None,
            "train_examples_per_s": self.examples / total if total else None,
        }
