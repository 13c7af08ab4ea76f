"""Preemption-safe resume: atomic last.ckpt, kill -9 and rerun, finished runs never retrained."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch

from nlp_transfer.callbacks.last_checkpoint import LastCheckpoint
from nlp_transfer.config import PROJECT_ROOT
from nlp_transfer.results.record import read_results
from tests.conftest import TINY_FAST

# a DANN run of 3 tiny epochs (4 steps each): λ depends on global_step, the target loader on its own sampler
RESUMABLE = [
    *TINY_FAST,
    "strategy=dann",
    "trainer.max_epochs=3",
    "trainer.deterministic=true",
    "run_id=resume",
]
HOLD = "+callbacks.hold._target_=tests.test_resume.HoldAfterFirstCheckpoint"  # numerically inert


class HoldAfterFirstCheckpoint(pl.Callback):
    """In a run that did not resume, stop right after last.ckpt first appears, until killed from outside.

    It pins the moment of the kill (the test's SIGKILL then always lands between two known steps), and
    does nothing in the resumed run, so both runs are started by the very same command.
    """

    def _hold(self, trainer: pl.Trainer) -> None:
        last = Path(trainer.default_root_dir) / "checkpoints" / "last.ckpt"
        if trainer.ckpt_path is None and last.is_file():
            time.sleep(300)

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        self._hold(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        self._hold(trainer)


def _command(log_dir: Path, cache_dir: Path, *overrides: str) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "NLP_TRANSFER_LOGS": str(log_dir), "NLP_TRANSFER_CACHE": str(cache_dir)}
    env["HF_HUB_OFFLINE"] = "1"
    return [sys.executable, str(PROJECT_ROOT / "train.py"), *overrides], env


def _run_dir(log_dir: Path) -> Path:
    (run_dir,) = (log_dir / "sentiment" / "runs").iterdir()
    return run_dir


def _train(log_dir: Path, cache_dir: Path, *overrides: str) -> dict:
    command, env = _command(log_dir, cache_dir, *overrides)
    done = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return read_results(_run_dir(log_dir))


def _train_and_kill(log_dir: Path, cache_dir: Path, *overrides: str) -> Path:
    """Start a run, SIGKILL it as soon as its first last.ckpt exists; return its run dir."""
    command, env = _command(log_dir, cache_dir, *overrides)
    process = subprocess.Popen(
        command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None:
            runs = log_dir / "sentiment" / "runs"
            if runs.is_dir() and any(runs.glob("*/checkpoints/last.ckpt")):
                break
            time.sleep(0.05)
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    return _run_dir(log_dir)


def _final_metrics(record: dict) -> dict[str, float]:
    return {k: v for k, v in record["metrics"].items() if k.startswith(("source/", "target/"))}


@pytest.mark.slow
def test_a_run_killed_at_an_epoch_end_and_rerun_ends_exactly_like_an_uninterrupted_one(
    tmp_path: Path, data_dir: Path
) -> None:
    cache = tmp_path / "cache"
    epoch_end_only = "callbacks.last_checkpoint.every_n_train_steps=0"
    uninterrupted = _train(tmp_path / "a", cache, *RESUMABLE, epoch_end_only)
    assert "resumed_from" not in uninterrupted

    run_dir = _train_and_kill(tmp_path / "b", cache, *RESUMABLE, epoch_end_only, HOLD)
    assert not (run_dir / "results.json").exists()  # killed: no record, only the checkpoint
    assert not list((run_dir / "checkpoints").glob("*.tmp"))
    resumed = _train(tmp_path / "b", cache, *RESUMABLE, epoch_end_only, HOLD)  # the same command again

    assert resumed["resumed_from"]["global_step"] == 4  # after epoch 0 (4 steps), not from step 0
    assert resumed["cost"]["train_steps"] == uninterrupted["cost"]["train_steps"] == 12
    expected = _final_metrics(uninterrupted)
    assert expected and _final_metrics(resumed) == pytest.approx(expected, abs=1e-6)


def test_a_finished_run_is_returned_not_retrained_unless_forced(run_training, tmp_path: Path) -> None:
    first = run_training("trainer.limit_train_batches=2")
    results = first["output_dir"] / "results.json"
    stamp = results.stat().st_mtime_ns

    again = run_training("trainer.limit_train_batches=2")
    assert results.stat().st_mtime_ns == stamp  # nothing rewritten: no training happened
    assert again["metrics"] == json.loads(results.read_text())["metrics"]

    forced = run_training("trainer.limit_train_batches=2", "force=true")
    assert results.stat().st_mtime_ns != stamp
    assert "resumed_from" not in forced  # force starts afresh even though last.ckpt exists


def test_last_checkpoint_is_replaced_atomically_and_a_failed_save_keeps_the_previous_one(
    run_training, tmp_path: Path
) -> None:
    record = run_training("trainer.limit_train_batches=3", "callbacks.last_checkpoint.every_n_train_steps=2")
    last = record["output_dir"] / "checkpoints" / "last.ckpt"
    before = last.read_bytes()
    assert torch.load(last, weights_only=False)["global_step"] == 3  # the epoch-end save after step 3

    class Unpicklable(pl.Callback):
        def state_dict(self) -> dict:
            return {"handle": lambda: None}  # torch.save fails on it, mid-way through the save

    trainer = pl.Trainer(callbacks=[Unpicklable()], logger=False, enable_progress_bar=False)
    trainer.strategy.connect(pl.LightningModule())
    trainer.state.fn = "fit"
    with pytest.raises(Exception, match="lambda|pickle"):
        LastCheckpoint(str(last.parent)).save(trainer)
    assert last.read_bytes() == before  # the previous complete checkpoint is untouched
