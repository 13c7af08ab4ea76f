"""A `last.ckpt` that a preempted or killed job can always resume from.

Lightning's own `save_last` writes only when the best-checkpoint callback saves (after validation), and
its fsspec "transaction" builds the file in the system temp dir and then *moves* it: across file systems
(/tmp → a cluster's shared disk) that move is a copy, so a kill during it leaves a truncated file.
Here the checkpoint is written next to its final name and renamed over it (`os.replace`, atomic within a
file system): `last.ckpt` is always the previous complete checkpoint or the new complete one.

Its state in every checkpoint is the global random generators' states (callbacks/rng_state.py), put back
when the resumed run starts training: with the training loaders' own saved place in the epoch
(data/resumable_loader.py), a run resumed mid-epoch trains exactly as the uninterrupted run would.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Checkpoint

from nlp_transfer.callbacks.rng_state import capture_rng_states, restore_rng_states

LAST_NAME = "last.ckpt"
TMP_SUFFIX = ".tmp"


class LastCheckpoint(Checkpoint):
    """Save `<dirpath>/last.ckpt` every `every_n_train_steps` optimizer steps and at every epoch end.

    A `Checkpoint` subclass, so Lightning runs its hooks after the other callbacks' (it moves checkpoint
    callbacks to the end, in config order): the epoch-end save then holds the best-checkpoint callback's
    record of that epoch, and a resumed run keeps the same best checkpoint as an uninterrupted one.
    List it after `model_checkpoint`, which stays `trainer.checkpoint_callback`.

    Args:
        dirpath: the run's checkpoint folder.
        every_n_train_steps: steps between saves (0 or None: epoch ends only). Each save of a MiniLM
            checkpoint (~270 MB with AdamW state) costs about a second on a local disk.
    """

    def __init__(self, dirpath: str, every_n_train_steps: int | None = 50) -> None:
        if every_n_train_steps is not None and every_n_train_steps < 0:
            raise ValueError(f"every_n_train_steps must be >= 0 or null, got {every_n_train_steps}")
        self.dirpath = Path(dirpath)
        self.every_n_train_steps = every_n_train_steps or 0
        self._saved_at_step = -1
        self._rng_to_restore: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        return {"rng": capture_rng_states()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._rng_to_restore = state_dict.get("rng")

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Lightning hands the training loaders their saved positions only when it builds them after the
        # checkpoint is restored; `estimated_stepping_batches` (LR schedules) builds them before, and the
        # positions were silently dropped (PL 2.6). Here, before the first batch, both orders work; a
        # second load of the same positions changes nothing.
        trainer.fit_loop._load_combined_loader_states()
        # RNG states here, not at load time: after setup and the other callbacks' train-start work, right
        # before the first step, as in the run that saved them (the module's own train-start hook runs
        # after this one: feature extraction's frozen encoding there draws no random numbers)
        if self._rng_to_restore is not None:
            restore_rng_states(self._rng_to_restore)
            self._rng_to_restore = None

    @property
    def path(self) -> Path:
        return self.dirpath / LAST_NAME

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        step = trainer.global_step
        if self.every_n_train_steps and step > 0 and step % self.every_n_train_steps == 0:
            self.save(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.save(trainer, at_epoch_end=True)

    def save(self, trainer: pl.Trainer, at_epoch_end: bool = False) -> None:
        """Write the trainer's full state (all ranks take part; rank 0 writes and renames)."""
        if trainer.sanity_checking or (trainer.global_step == self._saved_at_step and not at_epoch_end):
            return
        self._saved_at_step = trainer.global_step
        tmp = self.path.with_name(self.path.name + TMP_SUFFIX)
        trainer.save_checkpoint(tmp)  # collective: every rank calls it, only rank 0 writes, then a barrier
        if trainer.is_global_zero:
            _fsync(tmp)
            os.replace(tmp, self.path)
        trainer.strategy.barrier("LastCheckpoint.save")


def _fsync(path: Path) -> None:
    """Flush the file to disk before the rename, so a power loss cannot leave a renamed empty file."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
