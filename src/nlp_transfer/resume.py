"""Resuming runs: never retrain a finished run, continue an interrupted one from its `last.ckpt`.

A rerun of the same command (or a SLURM requeue of the same job) lands in the same run dir when the
dir is deterministic (`run_id=…`, or a sweep's per-job subfolder). There, train.py asks this module:

* `claim_run_dir` — first (under the run dir's lock, nlp_transfer.run_lock), compare the run's identity
  with the one stored there (nlp_transfer.run_identity): another config with a finished run or a
  checkpoint in the dir is refused; `force=true` discards that run's checkpoints; then
* `finished_record` — the dir already holds a `results.json` with status `ok`: return it, train nothing
  (unless `force=true`); a run recorded `interrupted` or `failed` is resumed;
* `resume_checkpoint` — `ckpt_path=…` if given, else the newest of `<run dir>/checkpoints/last.ckpt` and
  SLURM's pre-timeout `<run dir>/hpc_ckpt_<n>.ckpt`;
  `trainer.fit(ckpt_path=…)` then restores weights, optimizer, LR scheduler, loop progress (global step,
  epoch, hence the DANN λ schedule), callback states (the best checkpoint so far) and the sampler epoch.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from nlp_transfer.checkpoint_io import CheckpointError, UnsafeCheckpointError, load_checkpoint
from nlp_transfer.results.record import RESULTS_FILE, RunRecord, read_record
from nlp_transfer.run_identity import check_identity, stored_identity, write_identity

log = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"


class ResumeError(RuntimeError):
    """A checkpoint to resume from is missing or unreadable."""


def _finished(output_dir: str | Path) -> RunRecord | None:
    """The record in `output_dir` when its status is ok, else None (quietly)."""
    path = Path(output_dir) / RESULTS_FILE
    if not path.is_file():
        return None
    try:
        record = read_record(path)
    except ValueError:  # cut off or edited by hand (the writer itself is atomic), or no run record
        return None
    return record if record.status == "ok" else None


def finished_record(output_dir: str | Path, force: bool = False) -> RunRecord | None:
    """The stored record of a run that already finished in `output_dir` (status ok), else None."""
    record = _finished(output_dir)
    if record is None:
        return None
    if force:
        log.warning("%s holds a finished run; force=true, so it is trained again from scratch.", output_dir)
        return None
    log.info("Run already finished (%s, status ok, same config): not retraining. Pass force=true to retrain.",
             Path(output_dir) / RESULTS_FILE)  # fmt: skip
    return record


def own_checkpoints(output_dir: str | Path) -> list[Path]:
    """The run dir's resumable checkpoints: `last.ckpt` (periodic) and SLURM's `hpc_ckpt_<n>.ckpt`."""
    candidates = [Path(output_dir) / CHECKPOINT_DIR / "last.ckpt", *Path(output_dir).glob("hpc_ckpt_*.ckpt")]
    return [path for path in candidates if path.is_file()]


def kept_weights(output_dir: str | Path) -> list[Path]:
    """A finished run's kept model weights (checkpoint_retention), if the dir holds them."""
    from nlp_transfer.run_weights import KEPT_WEIGHTS

    path = Path(output_dir) / KEPT_WEIGHTS
    return [path] if path.is_file() else []


def claim_run_dir(output_dir: str | Path, identity: dict[str, Any], force: bool) -> RunRecord | None:
    """Before a run writes anything: its finished record to return, else None after storing `identity`.

    Raises `RunConfigMismatch` when the dir's finished run or checkpoint came from another config. With
    `force=true` the dir's checkpoints are deleted, so no later rerun can resume them under this config.
    Only DDP rank 0 writes (every rank calls this).
    """
    from nlp_transfer.distributed import global_rank

    past = own_checkpoints(output_dir)
    if not force:
        check_identity(output_dir, identity, has_past_work=bool(past) or _finished(output_dir) is not None)
    if (finished := finished_record(output_dir, force=force)) is not None:
        return finished
    if global_rank() != 0:
        return None
    if force:
        for path in [*past, *kept_weights(output_dir)]:
            log.info("force=true: deleting %s, so this run starts afresh.", path)
            path.unlink(missing_ok=True)
    elif past:  # resuming: the data checksums of the attempt being resumed must still hold
        identity["data"] = (stored_identity(output_dir) or {}).get("data") or {}
    write_identity(output_dir, identity)
    return None


def resume_checkpoint(cfg: DictConfig, output_dir: str | Path) -> str | None:
    """The checkpoint to resume from: `ckpt_path` if set, else the run dir's `last.ckpt`, else None.

    With `force=true` the run dir's own checkpoint is ignored (a fresh start); an explicit `ckpt_path` is
    always honoured. Half-written `*.tmp` files left by a killed save are deleted.
    """
    explicit = cfg.get("ckpt_path")
    if explicit:
        if not Path(explicit).is_file():
            raise ResumeError(f"ckpt_path={explicit} does not exist; point it at a .ckpt file or drop it.")
        return str(explicit)
    for stale in (Path(output_dir) / CHECKPOINT_DIR).glob("*.tmp"):
        log.info("Removing %s, left by a save that was interrupted.", stale)
        stale.unlink(missing_ok=True)
    if cfg.get("force", False):
        return None
    # last.ckpt (periodic) or, on SLURM, the hpc_ckpt_<n>.ckpt Lightning saves on the pre-timeout
    # signal before requeueing: whichever was written last holds the most progress
    existing = own_checkpoints(output_dir)
    if not existing:
        return None
    newest = max(existing, key=lambda path: path.stat().st_mtime_ns)
    log.info("Resuming from %s", newest)
    return str(newest)


def describe_checkpoint(path: str) -> dict[str, Any]:
    """`{"checkpoint", "global_step", "epoch"}` of a checkpoint, for results.json; read weights-only, so a
    file holding anything but tensors and plain data is refused before Lightning reads it."""
    try:
        state = load_checkpoint(path, mmap=True)  # weights-only: a file with other objects is refused
    except UnsafeCheckpointError:
        raise
    except CheckpointError as err:
        raise ResumeError(
            f"{err}. Delete it to start the run afresh, or pass ckpt_path= to another checkpoint."
        ) from err
    return {"checkpoint": str(path), "global_step": state.get("global_step"), "epoch": state.get("epoch")}
