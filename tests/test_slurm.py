"""Sweeps through a real SLURM: `hydra/launcher=submitit_slurm` against the local one-node cluster.

The cluster comes from `scripts/slurm/start_local_cluster.sh` (CI starts it in `.ci/run` and exports
SLURM_CONF; otherwise the `slurm_conf` fixture starts it and stops it again afterwards). These tests are
skipped only where SLURM cannot be started at all (not root and not installed), and never under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from nlp_transfer.config import CONFIG_DIR, PROJECT_ROOT
from tests.conftest import compose_config

START_SCRIPT = PROJECT_ROOT / "scripts" / "slurm" / "start_local_cluster.sh"
STOP_SCRIPT = PROJECT_ROOT / "scripts" / "slurm" / "stop_local_cluster.sh"
CANNOT_START = 2  # start_local_cluster.sh's exit status when SLURM cannot be started on this machine
SUBMIT = [
    "hydra/launcher=submitit_slurm",
    "cluster=local",
    "backbone=tiny",
    "debug=smoke",
    "logger=none",
]
JOB_TIMEOUT_S = 600  # a loaded 2-core machine needs about a minute per tiny job; SLURM adds seconds


def _cluster_answers(env: dict[str, str]) -> bool:
    try:
        out = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%T"], env=env, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and bool(re.search(r"^(idle|mixed|allocated)", out.stdout, re.M))


@pytest.fixture(scope="module")
def slurm_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of a client of a running SLURM (SLURM_CONF set); starts the local cluster if needed."""
    env = dict(os.environ)
    if env.get("SLURM_CONF") and _cluster_answers(env):
        yield env
        return
    proc = subprocess.run(["bash", str(START_SCRIPT)], capture_output=True, text=True, timeout=900)
    if proc.returncode == CANNOT_START:
        reason = f"SLURM cannot be started here: {proc.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the slurm tests must run in CI; .ci/run starts the cluster)")
        pytest.skip(reason)
    assert proc.returncode == 0, f"start_local_cluster.sh failed:\n{proc.stdout}\n{proc.stderr}"
    match = re.search(r"^export SLURM_CONF=(\S+)$", proc.stdout, re.M)
    assert match, f"start_local_cluster.sh printed no SLURM_CONF:\n{proc.stdout}"
    env["SLURM_CONF"] = match.group(1)
    already_running = "already running" in proc.stdout
    yield env
    if not already_running:  # leave a cluster someone else started alone
        subprocess.run(["bash", str(STOP_SCRIPT)], capture_output=True, timeout=120)


@pytest.mark.parametrize("preset", sorted(p.stem for p in (CONFIG_DIR / "cluster").glob("*.yaml")))
def test_cluster_preset_reaches_sbatch_parameters(preset: str) -> None:
    """Every preset composes with the SLURM launcher and its knobs become the launcher's sbatch settings."""
    cfg = compose_config(["hydra/launcher=submitit_slurm", f"cluster={preset}"])
    cluster, launcher = cfg.cluster, cfg.hydra.launcher
    for knob in ("partition", "account", "qos", "timeout_min", "cpus_per_task", "mem_gb", "gpus_per_node"):
        assert launcher[knob] == cluster[knob], knob
    assert launcher.array_parallelism == cluster.array_parallelism
    assert launcher.setup == [cluster.setup]
    # the pre-timeout signal is Lightning's requeue signal, not submitit's default SIGUSR2
    assert launcher.additional_parameters.signal == f"USR1@{cluster.signal_delay_s}"
    assert launcher.max_num_timeout == 0


def _train(*overrides: str) -> list[str]:
    return [sys.executable, str(PROJECT_ROOT / "train.py"), "-m", *SUBMIT, *overrides]


def _job_ids(sweep_dir: Path) -> list[str]:
    """SLURM ids of a sweep's jobs (`<array>_<task>`, or `<id>` for one job): submitit's per-job folders."""
    folder = sweep_dir / ".submitit"
    return sorted(p.parent.name for p in folder.glob("*/*_submitted.pkl")) if folder.is_dir() else []


def _sacct_states(env: dict[str, str], job_id: str) -> list[str]:
    """Every accounting record of a job, oldest first (a requeued job has one per start)."""
    out = subprocess.run(
        ["sacct", "-j", job_id, "-X", "-n", "-P", "--duplicates", "-o", "State"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return [line.split()[0] for line in out.stdout.splitlines() if line.strip()]


def _wait_for_state(env: dict[str, str], job_id: str, state: str, timeout_s: float = 60) -> list[str]:
    """Poll sacct until the job's latest record is `state` (accounting trails the job by a second or two)."""
    deadline = time.monotonic() + timeout_s
    states = _sacct_states(env, job_id)
    while (not states or states[-1] != state) and time.monotonic() < deadline:
        time.sleep(1)
        states = _sacct_states(env, job_id)
    return states


def _results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text(encoding="utf-8"))


@pytest.mark.slurm
def test_multirun_submits_one_slurm_job_per_combination(
    slurm_env: dict[str, str], tmp_path: Path, data_dir: Path
) -> None:
    sweep_dir = tmp_path / "sweep"
    proc = subprocess.run(
        _train("strategy=fine_tune,dann", f"hydra.sweep.dir={sweep_dir}", f"paths.cache_dir={tmp_path}/c"),
        env=slurm_env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=JOB_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    job_ids = _job_ids(sweep_dir)
    assert len(job_ids) == 2, f"expected one SLURM job per combination, got {job_ids}"
    for job_id in job_ids:
        assert _wait_for_state(slurm_env, job_id, "COMPLETED")[-1] == "COMPLETED", job_id
    run_dirs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(run_dirs) == 2, run_dirs
    strategies = set()
    for run_dir in run_dirs:
        record = _results(run_dir)
        assert record["status"] == "ok", record.get("error")
        strategies.add(record["config"]["strategy"])
    assert strategies == {"fine_tune", "dann"}


BATCH_SIZE, STEPS_PER_EPOCH, EPOCHS = 8, 8, 3


def _interrupt_a_running_job(
    slurm_env: dict[str, str], tmp_path: Path, interrupt: Callable[[str], None]
) -> tuple[list[str], dict, Path]:
    """Submit one training job, `interrupt(job_id)` once it wrote last.ckpt, let SLURM run it to the end.

    Returns the job's sacct states, its results.json and its run dir.
    """
    sweep_dir = tmp_path / "sweep"
    launcher = subprocess.Popen(
        _train(
            "strategy=fine_tune",
            f"task.batch_size={BATCH_SIZE}",
            f"trainer.limit_train_batches={STEPS_PER_EPOCH}",
            f"trainer.max_epochs={EPOCHS}",
            "callbacks.last_checkpoint.every_n_train_steps=2",
            "keep_checkpoints=all",  # the test reads hpc_ckpt_<n>.ckpt after the job finished
            f"hydra.sweep.dir={sweep_dir}",
            f"paths.cache_dir={tmp_path}/c",
        ),
        env=slurm_env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        last_ckpt = sweep_dir / "0_fine_tune_tiny_sentiment_books-kitchen" / "checkpoints" / "last.ckpt"
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while not last_ckpt.is_file() or not _job_ids(sweep_dir):
            assert launcher.poll() is None, (
                f"the sweep ended before its first checkpoint:\n{launcher.communicate()[0][-3000:]}"
            )
            assert time.monotonic() < deadline, "no last.ckpt within the time limit"
            time.sleep(0.5)
        (job_id,) = _job_ids(sweep_dir)
        assert _sacct_states(slurm_env, job_id)[-1] == "RUNNING"
        interrupt(job_id)
        output, _ = launcher.communicate(timeout=JOB_TIMEOUT_S)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            for job_id in _job_ids(sweep_dir):  # the job outlives its launcher: cancel it
                subprocess.run(["scancel", job_id], env=slurm_env, timeout=30)
    assert launcher.returncode == 0, output[-3000:]
    run_dir = last_ckpt.parent.parent
    return _wait_for_state(slurm_env, job_id, "COMPLETED"), _results(run_dir), run_dir


def _check_resumed_not_restarted(states: list[str], record: dict) -> dict:
    """COMPLETED after a REQUEUED record, trained to the end, and only the steps after its checkpoint."""
    assert states[-1] == "COMPLETED" and "REQUEUED" in states, f"sacct records: {states}"
    assert record["status"] == "ok", record.get("error")
    total_steps = STEPS_PER_EPOCH * EPOCHS
    assert record["cost"]["train_steps"] == total_steps
    resumed = record.get("resumed_from")
    assert resumed, "the requeued job trained from scratch: results.json has no resumed_from"
    assert 0 < resumed["global_step"] < total_steps
    # the second start trained only the steps after its checkpoint (the throughput monitor counts them)
    assert record["cost"]["train_examples"] == (total_steps - resumed["global_step"]) * BATCH_SIZE
    return resumed


@pytest.mark.slurm
@pytest.mark.slow
def test_requeued_job_resumes_from_its_checkpoint(
    slurm_env: dict[str, str], tmp_path: Path, data_dir: Path
) -> None:
    """`scontrol requeue` kills a running job and starts it again: it must continue, not start over."""

    def requeue(job_id: str) -> None:
        subprocess.run(["scontrol", "requeue", job_id], env=slurm_env, check=True, timeout=30)

    states, record, _ = _interrupt_a_running_job(slurm_env, tmp_path, requeue)
    _check_resumed_not_restarted(states, record)


@pytest.mark.slurm
@pytest.mark.slow
def test_the_pre_timeout_signal_saves_requeues_and_resumes(
    slurm_env: dict[str, str], tmp_path: Path, data_dir: Path
) -> None:
    """SIGUSR1, as SLURM sends it `signal_delay_s` before the time limit (`--signal=USR1@…`), delivered now.

    Lightning's handler must save hpc_ckpt_<n>.ckpt in the run dir and requeue the job itself (this test
    never calls scontrol); the second start resumes from the newest checkpoint, not from scratch. The job
    trains on until SLURM stops it, so last.ckpt may be newer than the signal's checkpoint.
    """

    def pre_timeout_signal(job_id: str) -> None:
        subprocess.run(["scancel", "--signal=USR1", job_id], env=slurm_env, check=True, timeout=30)

    states, record, run_dir = _interrupt_a_running_job(slurm_env, tmp_path, pre_timeout_signal)
    resumed = _check_resumed_not_restarted(states, record)
    hpc = sorted(run_dir.glob("hpc_ckpt_*.ckpt"))
    assert hpc, f"no hpc_ckpt_<n>.ckpt in {run_dir}: the signal did not reach Lightning's handler"
    hpc_step = torch.load(hpc[-1], map_location="cpu", weights_only=False)["global_step"]
    assert 0 < hpc_step <= resumed["global_step"]
