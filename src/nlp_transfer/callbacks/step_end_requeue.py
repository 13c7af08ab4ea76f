"""SLURM's pre-timeout signal handled between two training steps, so the saved checkpoint resumes exactly.

SLURM sends the requeue signal (`--signal=USR1@<s>`, cluster.signal_delay_s) `s` seconds before the time
limit. Lightning's handler saves `hpc_ckpt_<n>.ckpt` and requeues the job *inside the signal handler*,
i.e. at whatever bytecode the main thread was running: in the middle of a step the training loader has
already handed out the step's batch (data/resumable_loader.py counts it) while `global_step` does not yet
count it, so the resumed run skips that batch and trains one step too few (seen in CI: 23 of 24 steps).

`StepEndRequeue` swaps Lightning's handler for one that only notes the signal; the next training-batch
end (the same point where `last.ckpt` is written) runs Lightning's handler: save, then requeue. Under DDP
every rank must save at the same step, so the ranks agree on "any rank was signalled" at each step end.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.plugins.environments import SLURMEnvironment


class StepEndRequeue(Callback):
    """Defer SLURM auto-requeue's checkpoint-and-requeue from signal time to the next step end."""

    def __init__(self) -> None:
        self._lightning_handler: Callable[[int, FrameType | None], Any] | None = None
        self._signum: int | None = None
        self._requeued = False

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Lightning registered its handlers before the fit loop started (Trainer._run); it restores the
        # handlers it found at teardown, which also removes this one
        environment = trainer._accelerator_connector.cluster_environment
        if not (isinstance(environment, SLURMEnvironment) and environment.auto_requeue):
            return
        if threading.current_thread() is not threading.main_thread():
            return
        signum = environment.requeue_signal or signal.SIGUSR1
        handler = signal.getsignal(signum)
        if callable(handler):
            self._lightning_handler = handler
            signal.signal(signum, self._note)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self._signum = signum

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._requeue_if_signalled(trainer)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # a signal during the last validation: training is over, but the job must still come back to test
        self._requeue_if_signalled(trainer)

    def _requeue_if_signalled(self, trainer: pl.Trainer) -> None:
        if self._lightning_handler is None or self._requeued:
            return
        signalled = self._signum is not None
        if trainer.world_size > 1:
            signalled = trainer.strategy.reduce_boolean_decision(signalled, all=False)
        if signalled:
            self._requeued = True
            self._lightning_handler(self._signum or signal.SIGUSR1, None)
