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
HELD = "held"  # the marker the hold writes


class HoldAfterFirstCheckpoint(pl.Callback):
    """In a run that did not resume, stop once last.ckpt exists (from step `after_step` on), until killed.

    It pins the moment of the kill: it writes `<run dir>/held` and sleeps, and the test's SIGKILL lands
    there, between two known steps. Checkpoint callbacks run after it, so at a batch end it sees the
    last.ckpt of an earlier step. It does nothing in the resumed run, so both runs are started by the
    very same command.
    """

    def __init__(self, after_step: int = 0) -> None:
        self.after_step = after_step

    def _hold(self, trainer: pl.Trainer) -> None:
        root = Path(trainer.default_root_dir)
        last = root / "checkpoints" / "last.ckpt"
        if trainer.ckpt_path is None and trainer.global_step >= self.after_step and last.is_file():
            (root / HELD).touch()
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
    """Start a run, SIGKILL it once its hold callback holds (after a last.ckpt); return its run dir."""
    command, env = _command(log_dir, cache_dir, *overrides)
    process = subprocess.Popen(
        command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None:
            runs = log_dir / "sentiment" / "runs"
            if runs.is_dir() and any(runs.glob(f"*/{HELD}")):
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


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["dann", "fine_tune", "self_training"])
def test_a_run_killed_mid_epoch_and_rerun_ends_exactly_like_an_uninterrupted_one(
    tmp_path: Path, data_dir: Path, strategy: str
) -> None:
    """last.ckpt at steps 3, 4 (epoch end), 6, ...: killed after step 6, half-way through epoch 1.

    The model tested is the last epoch's (no monitor), so every step shows in the metrics; a resume
    that re-trained epoch 1's first batches, or drew other dropout masks, ends with other weights.
    """
    cache = tmp_path / "cache"
    overrides = [o for o in RESUMABLE if not o.startswith("strategy=")]
    overrides += [
        f"strategy={strategy}",
        "callbacks.last_checkpoint.every_n_train_steps=3",
        "callbacks.model_checkpoint.monitor=null",
    ]
    uninterrupted = _train(tmp_path / "a", cache, *overrides)

    hold = [HOLD, "+callbacks.hold.after_step=7"]  # at step 7's end, last.ckpt is step 6's
    _train_and_kill(tmp_path / "b", cache, *overrides, *hold)
    resumed = _train(tmp_path / "b", cache, *overrides, *hold)

    assert resumed["resumed_from"]["global_step"] == 6
    assert resumed["cost"]["train_steps"] == uninterrupted["cost"]["train_steps"] == 12
    expected = _final_metrics(uninterrupted)
    assert expected and _final_metrics(resumed) == pytest.approx(expected, abs=1e-6)
    weights = [_final_weights(_run_dir(tmp_path / run)) for run in ("a", "b")]
    assert weights[0].keys() == weights[1].keys()
    for name, tensor in weights[0].items():
        assert torch.allclose(weights[1][name], tensor, rtol=0, atol=1e-6), name


def _final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    """The finished run's kept model (checkpoint_retention): with no monitor, the last epoch's weights."""
    from nlp_transfer.run_weights import KEPT_WEIGHTS, load_weights

    return load_weights(run_dir / KEPT_WEIGHTS)["state_dict"]


def test_a_finished_run_is_returned_not_retrained_unless_forced(run_training, tmp_path: Path) -> None:
    first = run_training("trainer.limit_train_batches=2", "keep_checkpoints=all")
    results = first["output_dir"] / "results.json"
    stamp = results.stat().st_mtime_ns

    again = run_training("trainer.limit_train_batches=2", "keep_checkpoints=all")
    assert results.stat().st_mtime_ns == stamp  # nothing rewritten: no training happened
    assert again["metrics"] == json.loads(results.read_text())["metrics"]

    forced = run_training("trainer.limit_train_batches=2", "keep_checkpoints=all", "force=true")
    assert results.stat().st_mtime_ns != stamp
    assert "resumed_from" not in forced  # force starts afresh even though last.ckpt exists


def test_last_checkpoint_is_replaced_atomically_and_a_failed_save_keeps_the_previous_one(
    run_training, tmp_path: Path
) -> None:
    record = run_training(
        "trainer.limit_train_batches=3",
        "callbacks.last_checkpoint.every_n_train_steps=2",
        "keep_checkpoints=all",
    )
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
