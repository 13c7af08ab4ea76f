"""A run dir holds one config and has one writer; interrupted runs are recorded as such and resumed."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl

from nlp_transfer.config import PROJECT_ROOT
from nlp_transfer.results.record import read_results
from nlp_transfer.run_identity import (
    IDENTITY_FILE,
    RunConfigMismatch,
    check_identity,
    differing_keys,
    run_identity,
    write_identity,
)
from nlp_transfer.run_lock import LOCK_FILE, RunDirLocked, RunLock
from tests.conftest import TINY_FAST, compose_config

WAIT_TIMEOUT_S = 300


class CountFits(pl.Callback):
    """Appends `<seed>` to `path` at every fit start: the test counts trainings by its lines."""

    def __init__(self, path: str, seed: int) -> None:
        self.path, self.seed = Path(path), seed

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        with self.path.open("a") as handle:
            handle.write(f"{self.seed}\n")


class InterruptOnce(pl.Callback):
    """SIGINT to its own process after training step `at_step` of the job with seed `seed`, once per `marker`.

    The marker file makes the very same command run through on its rerun.
    """

    def __init__(self, seed: int, run_seed: int, marker: str, at_step: int = 3) -> None:
        self.armed = seed == run_seed and not Path(marker).exists()
        self.marker, self.at_step = Path(marker), at_step

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if self.armed and trainer.global_step >= self.at_step:
            self.armed = False
            self.marker.touch()
            os.kill(os.getpid(), signal.SIGINT)


class WaitForFile(pl.Callback):
    """In a run that did not resume, pause after the first step until `path` exists (or a timeout)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        deadline = time.monotonic() + WAIT_TIMEOUT_S
        while trainer.ckpt_path is None and not self.path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_API_KEY", "WANDB_MODE")}
    env.update(NLP_TRANSFER_LOGS=str(tmp_path / "logs"), NLP_TRANSFER_CACHE=str(tmp_path / "cache"))
    env["HF_HUB_OFFLINE"] = "1"
    return env


def _train_py(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    flags = [o for o in overrides if o.startswith("-")]  # -m before the overrides
    overrides = tuple(o for o in overrides if not o.startswith("-"))
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "train.py"), *flags, *TINY_FAST, *overrides],
        cwd=PROJECT_ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def _popen_train_py(tmp_path: Path, *overrides: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "train.py"), *TINY_FAST, *overrides],
        cwd=PROJECT_ROOT, env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _run_dir(tmp_path: Path) -> Path:
    (run_dir,) = (tmp_path / "logs" / "sentiment" / "runs").iterdir()
    return run_dir


def _wait_for(condition: Any, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while not condition():
        assert process.poll() is None, process.stderr.read()[-3000:]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# --- what the fingerprint holds ---------------------------------------------------------------------------


def test_the_fingerprint_follows_what_changes_results_and_ignores_where_and_how_a_run_logs(
    tmp_path: Path,
) -> None:
    base = run_identity(compose_config(TINY_FAST, tmp_path / "a"))
    same = [
        "run_id=other", "logger=csv", "+trainer.enable_progress_bar=false", "callbacks.progress_bar=null",
        "force=true", "callbacks.last_checkpoint.every_n_train_steps=7", "task.num_workers=2",
        "strategy.optimizer.fused=false", "+backbone.encoder.recompute_attention=false",
        f"paths.log_dir={tmp_path / 'elsewhere'}", f"paths.cache_dir={tmp_path / 'cache'}",
    ]  # fmt: skip
    moved = run_identity(compose_config([*TINY_FAST, *same], tmp_path / "b"))
    assert moved["fingerprint"] == base["fingerprint"], differing_keys(base["config"], moved["config"])

    for override, key in [
        ("seed=7", "seed"),
        ("strategy.optimizer.lr=1e-3", "strategy.optimizer.lr"),
        ("task.max_length=32", "task.max_length"),
        ("trainer.max_epochs=3", "trainer.max_epochs"),
        ("checkpoint_metric=selection/dev", "checkpoint_metric"),
    ]:
        other = run_identity(compose_config([*TINY_FAST, override], tmp_path / "a"))
        assert other["fingerprint"] != base["fingerprint"], override
        assert key in differing_keys(base["config"], other["config"]), override


def test_a_stored_identity_is_compared_on_what_decides_results_today(tmp_path: Path) -> None:
    identity = run_identity(compose_config(TINY_FAST, tmp_path / "a"))
    older = {"fingerprint": "from-an-older-exclusion-list", "config": {**identity["config"], "run_id": "x"}}
    write_identity(tmp_path, older)
    check_identity(tmp_path, identity, has_past_work=True)  # run_id no longer counts: same run

    other = run_identity(compose_config([*TINY_FAST, "seed=3"], tmp_path / "a"))
    with pytest.raises(RunConfigMismatch, match=r"differing: seed\)"):
        check_identity(tmp_path, other, has_past_work=True)
    check_identity(tmp_path, other, has_past_work=False)  # nothing finished or resumable to mix up


# --- acceptance 1: another config in the same run dir -----------------------------------------------------


@pytest.mark.slow
def test_a_rerun_with_another_seed_is_refused_or_forced_and_the_identical_one_skipped(tmp_path: Path) -> None:
    first = _train_py(tmp_path, "run_id=x")
    assert first.returncode == 0, first.stderr[-3000:]
    run_dir = _run_dir(tmp_path)
    results = run_dir / "results.json"
    stamp, record = results.stat().st_mtime_ns, read_results(results)
    stored = json.loads((run_dir / IDENTITY_FILE).read_text())
    assert record["fingerprint"] == stored["fingerprint"] and record["status"] == "ok"
    assert stored["data"] and stored["data"].items() <= record["data"]["checksums"].items()

    same = _train_py(tmp_path, "run_id=x")
    assert same.returncode == 0 and results.stat().st_mtime_ns == stamp  # skipped, nothing rewritten

    refused = _train_py(tmp_path, "run_id=x", "seed=7")
    assert refused.returncode != 0
    error = refused.stderr
    assert "RunConfigMismatch" in error and "differing: seed)" in error, error[-3000:]
    assert "force=true" in error and "run_id=" in error
    assert results.stat().st_mtime_ns == stamp and read_results(results)["config"]["seed"] == 42

    forced = _train_py(tmp_path, "run_id=x", "seed=7", "force=true")
    assert forced.returncode == 0, forced.stderr[-3000:]
    retrained = read_results(results)
    assert retrained["config"]["seed"] == 7 and retrained["status"] == "ok"
    assert "resumed_from" not in retrained  # force discards the old config's last.ckpt
    assert retrained["fingerprint"] != record["fingerprint"]
    assert _train_py(tmp_path, "run_id=x", "seed=7").returncode == 0  # the new config's identical rerun
    assert read_results(results) == retrained


def test_a_killed_run_s_checkpoint_is_not_resumed_under_another_config(run_training, tmp_path: Path) -> None:
    record = run_training("trainer.limit_train_batches=2", "keep_checkpoints=all")  # keeps last.ckpt
    (record["output_dir"] / "results.json").unlink()  # as after SIGKILL: identity and last.ckpt, no record
    with pytest.raises(Exception, match=r"differing: task\.max_length\).*force=true.*run_id="):
        run_training("trainer.limit_train_batches=2", "task.max_length=32")
    resumed = run_training("trainer.limit_train_batches=2")  # its own config resumes it
    assert resumed["status"] == "ok" and resumed["resumed_from"]["global_step"] == 2


def test_changed_data_refuses_the_resume(run_training, tmp_path: Path) -> None:
    record = run_training("trainer.limit_train_batches=2", "keep_checkpoints=all")  # keeps last.ckpt
    (record["output_dir"] / "results.json").unlink()
    identity_file = record["output_dir"] / IDENTITY_FILE
    identity = json.loads(identity_file.read_text())
    identity["data"]["books/train"] = "0" * 64  # the files the interrupted attempt read were other files
    identity_file.write_text(json.dumps(identity))
    with pytest.raises(Exception, match=r"differing: data:books/train\)"):
        run_training("trainer.limit_train_batches=2")


# --- acceptance 2: an interrupted multirun resumes job by job ---------------------------------------------


@pytest.mark.slow
def test_an_interrupted_four_job_multirun_rerun_trains_only_the_unfinished_jobs(tmp_path: Path) -> None:
    fits, sweep_dir = tmp_path / "fits.txt", tmp_path / "sweep"
    command = [
        "-m", "seed=1,2,3,4", f"hydra.sweep.dir={sweep_dir}", "logger=none",
        "callbacks.last_checkpoint.every_n_train_steps=2",
        "+callbacks.count._target_=tests.test_run_identity.CountFits", f"+callbacks.count.path={fits}",
        "+callbacks.count.seed=${seed}",
        "+callbacks.stop._target_=tests.test_run_identity.InterruptOnce", "+callbacks.stop.seed=3",
        "+callbacks.stop.run_seed=${seed}", f"+callbacks.stop.marker={tmp_path / 'interrupted'}",
    ]  # fmt: skip
    interrupted = _train_py(tmp_path, *command)
    assert interrupted.returncode == 128 + signal.SIGINT, interrupted.stderr[-3000:]
    assert fits.read_text().split() == ["1", "2", "3"]  # job 4 never started
    records = {p.parent.name[0]: read_results(p) for p in sweep_dir.glob("*/results.json")}
    assert {k: r["status"] for k, r in records.items()} == {"0": "ok", "1": "ok", "2": "interrupted"}
    assert records["2"]["error"] == "interrupted by SIGINT"
    stamps = {p: p.stat().st_mtime_ns for p in sweep_dir.glob("[01]_*/results.json")}

    rerun = _train_py(tmp_path, *command)  # the very same command
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert fits.read_text().split() == ["1", "2", "3", "3", "4"]  # only the unfinished jobs trained
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())
    records = {p.parent.name[0]: read_results(p) for p in sweep_dir.glob("*/results.json")}
    assert [records[k]["status"] for k in "0123"] == ["ok"] * 4
    assert records["2"]["resumed_from"]["global_step"] == 2  # continued from its last.ckpt


# --- acceptance 3: one writer per run dir -----------------------------------------------------------------


@pytest.mark.slow
def test_a_second_process_on_a_run_dir_fails_at_once_and_the_first_finishes_intact(tmp_path: Path) -> None:
    release = tmp_path / "release"
    command = ["run_id=shared", "+callbacks.wait._target_=tests.test_run_identity.WaitForFile",
               f"+callbacks.wait.path={release}"]  # fmt: skip
    first = _popen_train_py(tmp_path, *command)
    try:
        lock = lambda: next((tmp_path / "logs").glob(f"sentiment/runs/*/{LOCK_FILE}"), None)  # noqa: E731
        _wait_for(lambda: lock() is not None and f'"pid": {first.pid}' in lock().read_text(), first)
        started = time.monotonic()
        second = _train_py(tmp_path, *command)
        assert second.returncode != 0
        assert f"in use by another training process (pid {first.pid} on host" in second.stderr
        assert "run_id=" in second.stderr
        assert time.monotonic() - started < 60  # before building anything
        release.touch()
        assert first.wait(timeout=600) == 0, first.stderr.read()[-3000:]
    finally:
        if first.poll() is None:
            first.kill()
    record = read_results(_run_dir(tmp_path))
    assert record["status"] == "ok" and record["cost"]["train_steps"] == 4
    assert (_run_dir(tmp_path) / LOCK_FILE).read_text() == ""  # released


def test_a_stale_lock_of_a_dead_process_is_taken_over(
    run_training, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / LOCK_FILE).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}))
    with caplog.at_level(logging.WARNING, logger="nlp_transfer.run_lock"):
        record = run_training("trainer.limit_train_batches=1", output_dir=run_dir)
    assert record["status"] == "ok"
    assert f"from pid {dead.pid} on {socket.gethostname()}, which is no longer running" in caplog.text


def test_a_held_lock_refuses_a_second_holder_but_not_a_ddp_rank_above_zero(tmp_path: Path) -> None:
    from pytorch_lightning.utilities.rank_zero import rank_zero_only

    with RunLock(tmp_path):
        with pytest.raises(RunDirLocked, match=f"pid {os.getpid()} on host"):
            RunLock(tmp_path).acquire()
        rank = rank_zero_only.rank
        rank_zero_only.rank = 1
        try:
            with RunLock(tmp_path):  # rank 0 holds the lock for every rank of its run
                pass
        finally:
            rank_zero_only.rank = rank
    with RunLock(tmp_path):  # released on exit
        pass


# --- acceptance 4: Ctrl-C and SIGTERM ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signalled_run_is_recorded_interrupted_and_the_same_command_resumes_it(
    tmp_path: Path, signum: int
) -> None:
    command = ["run_id=sig", "callbacks.last_checkpoint.every_n_train_steps=1",
               "+callbacks.hold._target_=tests.test_resume.HoldAfterFirstCheckpoint"]  # fmt: skip
    process = _popen_train_py(tmp_path, *command)
    try:
        _wait_for(lambda: any((tmp_path / "logs").glob("sentiment/runs/*/checkpoints/last.ckpt")), process)
        process.send_signal(signum)
        assert process.wait(timeout=120) == 128 + signum, process.stderr.read()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
    record = read_results(_run_dir(tmp_path))
    assert record["status"] == "interrupted"
    assert record["error"] == f"interrupted by {signal.Signals(signum).name}"

    resumed = _train_py(tmp_path, *command)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    record = read_results(_run_dir(tmp_path))
    assert record["status"] == "ok" and record["resumed_from"]["global_step"] >= 1
