"""A console a newcomer can read: known-harmless library noise filtered out, and where the run went.

`QuietConsole` (a Hydra callback, conf/hydra/default.yaml) installs narrow filters before each job, each
naming the message it drops and why that message is harmless. `print_run_location` ends a run by saying
where its files are and, for an offline W&B run, the command that uploads it.
Cheap to import (no torch, Lightning or wandb).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

LIGHTNING_RANK_ZERO_LOGGER = "pytorch_lightning.utilities.rank_zero"
LITLOGGER_TIP = "💡 Tip: For seamless cloud logging"
LIGHTNING_CHECKPOINT_LOGGER = "pytorch_lightning.trainer.connectors.checkpoint_connector"
SAVE_DEFAULT_NOTE = "`weights_only` was not set, defaulting to `False`."


class _DropLitLoggerTip(logging.Filter):
    """Lightning ≥ 2.6 logs an advertisement for its LitLogger service whenever a Trainer is built without
    it, and offers no flag to turn it off; it says nothing about this run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(LITLOGGER_TIP)


class _DropSaveDefaultNote(logging.Filter):
    """Lightning ≥ 2.6 logs that `weights_only` defaults to False each time a checkpoint is *written*
    without it (`trainer.save_checkpoint`, as LastCheckpoint does: a full state, for resuming). It reads
    like an unsafe load, but every read of a checkpoint here is weights-only (checkpoint_io.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return str(record.msg) != SAVE_DEFAULT_NOTE


def quiet_known_noise() -> None:
    """Filter the messages every default run printed that say nothing about the run (idempotent)."""
    # Lightning's own pytree helper still builds torch's LeafSpec, which torch ≥ 2.9 deprecates (a
    # FutureWarning on every fit); nothing in this project uses LeafSpec, and Lightning will move off it.
    warnings.filterwarnings(
        "ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning
    )
    for logger_name, drop in (
        (LIGHTNING_RANK_ZERO_LOGGER, _DropLitLoggerTip),
        (LIGHTNING_CHECKPOINT_LOGGER, _DropSaveDefaultNote),
    ):
        library_log = logging.getLogger(logger_name)
        if not any(isinstance(f, drop) for f in library_log.filters):
            library_log.addFilter(drop())


class QuietConsole(Callback):
    """Installs `quiet_known_noise` in the job's process before the job starts (runs and multiruns)."""

    def on_job_start(self, config: Any, **kwargs: Any) -> None:
        quiet_known_noise()


def offline_wandb_runs(run_dir: Path) -> list[Path]:
    """The W&B runs a run dir holds that were never uploaded (`wandb/offline-run-*`), oldest first."""
    return sorted(p for p in (run_dir / "wandb").glob("offline-run-*") if p.is_dir())


def run_location(run_dir: Path) -> str:
    """Where a finished run's files are, and the `wandb sync` command for its offline W&B runs."""
    lines = [f"Run dir:      {run_dir}", f"Results:      {run_dir / 'results.json'}"]
    offline = offline_wandb_runs(run_dir)
    if offline:
        lines.append(f"W&B offline:  wandb sync {' '.join(str(p) for p in offline)}")
    return "\n".join(lines)


def print_run_location(run_dir: str | Path) -> None:
    """Print `run_location` (the last lines of a run's console)."""
    print(run_location(Path(run_dir)), flush=True)
