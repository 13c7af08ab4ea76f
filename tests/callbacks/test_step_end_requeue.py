"""SLURM's pre-timeout signal arriving mid-step: the hpc checkpoint must still resume exactly."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl

from nlp_transfer.checkpoint_io import load_checkpoint

SIGNAL_AT_STEP = 2


class SignalMidStep(pl.Callback):
    """Send this process SLURM's requeue signal between the forward pass and the backward pass of a step."""

    def on_before_backward(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == SIGNAL_AT_STEP:
            os.kill(os.getpid(), signal.SIGUSR1)


@pytest.fixture
def slurm_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment of a one-task SLURM job (Lightning turns auto-requeue on), and an `scontrol` on PATH
    that only records its arguments: the job's requeue request lands in the returned file."""
    for key, value in {"SLURM_NTASKS": "1", "SLURM_JOB_NAME": "train", "SLURM_JOB_ID": "4242",
                       "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0",
                       "SLURM_NODELIST": "localhost"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SLURM_ARRAY_JOB_ID", raising=False)
    bin_dir, requests = tmp_path / "bin", tmp_path / "scontrol_requests.txt"
    bin_dir.mkdir()
    scontrol = bin_dir / "scontrol"
    scontrol.write_text(f'#!/bin/sh\necho "$@" >> {requests}\n', encoding="utf-8")
    scontrol.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return requests


def test_a_requeue_signal_mid_step_saves_at_the_step_end_then_requeues(run_training, slurm_job: Path) -> None:
    record = run_training(
        "task.batch_size=8",
        "trainer.limit_train_batches=6",
        "trainer.max_epochs=1",
        "+callbacks.signal_mid_step._target_=tests.callbacks.test_step_end_requeue.SignalMidStep",
        "keep_checkpoints=all",  # a finished run keeps only its chosen weights by default
    )
    assert record["status"] == "ok"
    (hpc,) = sorted(record["output_dir"].glob("hpc_ckpt_*.ckpt"))
    checkpoint = load_checkpoint(hpc)
    (loader_position,) = checkpoint["loops"]["fit_loop"]["state_dict"]["combined_loader"]
    # Lightning's own handler, run inside the signal, saved global_step 2 with 3 batches handed out: the
    # resumed run skipped a batch. Deferred to the step end, the step and the batches agree.
    assert checkpoint["global_step"] == SIGNAL_AT_STEP + 1
    assert loader_position == {"epoch": 0, "pass": 0, "batches": SIGNAL_AT_STEP + 1}
    assert slurm_job.read_text(encoding="utf-8").split() == ["requeue", "4242"]
