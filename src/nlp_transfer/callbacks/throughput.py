"""Training throughput in the progress bar, the logger and results.json: every sweep row carries its cost.

Counts source (labeled) examples per second of training-step time (data loading included, validation
excluded); adaptation strategies also process an equal number of target examples per step.

Beside each step's wall time it records the CPU time the process spent on it (`time.process_time`, all
its threads): on a CPU shared with other jobs the wall time of a step swings tenfold with their load
(issue 14: 1.2 to 22 examples/s within one fine-tune of the CPU benchmark), its CPU time hardly moves,
so `train_step_cpu_seconds_median` is the figure that compares strategies run at different times.

It stays off the hot path: per step it only reads the clock and the batch size (no tensor work, no
host sync). Throughput is logged once per `trainer.log_every_n_steps` steps, averaged over those steps,
which is steadier than one step's figure and calls `self.log` a tenth as often. It also records how long
the process took to reach its first training step (imports, data, model, Trainer set-up); for the later
jobs of a multirun run in one process, from the job's start instead (`start_clock_at`).
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl


def seconds_since_process_start() -> float | None:
    """Age of this process from the kernel's record of its start (Linux /proc), else None."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of proc(5): starttime, in clock ticks after boot
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class ThroughputMonitor(pl.Callback):
    """Examples/s and step time, logged as `train/examples_per_s` (progress bar) and `train/step_seconds`."""

    def __init__(self) -> None:
        self.examples = 0
        self.step_seconds: list[float] = []
        self.step_cpu_seconds: list[float] = []
        self.seconds_to_first_step: float | None = None
        self._clock_origin: float | None = None  # None: count from the process start
        self._last_end: float | None = None
        self._last_cpu: float | None = None
        self._window_examples = 0
        self._window_seconds = 0.0
        self._window_steps = 0

    def start_clock_at(self, origin: float) -> None:
        """Count `seconds_to_first_step` from `origin` (a `time.perf_counter()` value), not the process start.

        A multirun's jobs share one process: the second job's first step is not "process age" away.
        """
        self._clock_origin = origin

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._restart_clocks()  # a step's time starts when the previous one ended

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._restart_clocks()  # validation time is not training time

    def _restart_clocks(self) -> None:
        self._last_end, self._last_cpu = time.perf_counter(), time.process_time()

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.seconds_to_first_step is None and not self.step_seconds:
            self.seconds_to_first_step = (
                seconds_since_process_start()
                if self._clock_origin is None
                else time.perf_counter() - self._clock_origin
            )

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        now, cpu_now = time.perf_counter(), time.process_time()
        seconds = now - (self._last_end or now)
        self.step_cpu_seconds.append(cpu_now - (self._last_cpu if self._last_cpu is not None else cpu_now))
        self._last_end, self._last_cpu = now, cpu_now
        size = len(batch["source"]["input_ids"])
        self.examples += size
        self.step_seconds.append(seconds)
        self._window_examples += size
        self._window_seconds += seconds
        self._window_steps += 1
        if self._logs_this_step(trainer) and self._window_seconds > 0:
            examples_per_s = self._window_examples / self._window_seconds
            pl_module.log("train/examples_per_s", examples_per_s, prog_bar=True, batch_size=size)
            pl_module.log("train/step_seconds", self._window_seconds / self._window_steps, batch_size=size)
            self._window_examples, self._window_seconds, self._window_steps = 0, 0.0, 0

    @staticmethod
    def _logs_this_step(trainer: pl.Trainer) -> bool:
        """Whether Lightning writes this step's logs (it counts the step it is finishing as done)."""
        every = trainer.log_every_n_steps
        return every > 0 and (trainer.global_step % every == 0 or trainer.should_stop)

    record_section = "cost"  # results.RecordSection: summary() joins the record's `cost`

    def summary(self) -> dict[str, float | int | None]:
        total = sum(self.step_seconds)
        return {
            "train_examples": self.examples,
            "train_step_seconds_median": statistics.median(self.step_seconds) if self.step_seconds else None,
            "train_step_cpu_seconds_median": (
                statistics.median(self.step_cpu_seconds) if self.step_cpu_seconds else None
            ),
            "train_examples_per_s": self.examples / total if total else None,
            "seconds_to_first_step": (
                round(self.seconds_to_first_step, 2) if self.seconds_to_first_step is not None else None
            ),
        }
