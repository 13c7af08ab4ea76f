"""Several workers on one sweep: the same `-m` command started twice trains each job once.

A job whose run dir another process holds (run.lock) is skipped by the other workers, not failed; the end
of a worker's sweep does not count a job that another worker is still training as failed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nlp_transfer.callbacks.sweep_status import failed_runs, running_elsewhere
from nlp_transfer.config import PROJECT_ROOT
from nlp_transfer.results.record import read_results
from nlp_transfer.run_lock import LOCK_FILE, RunLock, live_holder
from tests.conftest import TINY_FAST
from tests.test_run_identity import WAIT_TIMEOUT_S, _env


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_live_holder_names_a_training_process_and_nobody_once_it_released_or_died(tmp_path: Path) -> None:
    assert live_holder(tmp_path) is None  # no lock file: never started
    with RunLock(tmp_path):
        holder = live_holder(tmp_path)
        assert holder is not None and holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
    assert live_holder(tmp_path) is None  # released: the content is cleared
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname()}))
    assert live_holder(tmp_path) is None  # SIGKILLed holder: its pid is gone
    elsewhere = {"pid": 1, "host": "another-node"}
    (tmp_path / LOCK_FILE).write_text(json.dumps(elsewhere))
    assert live_holder(tmp_path) == elsewhere  # cannot be checked from here: counts as live


def test_the_end_of_a_sweep_does_not_fail_a_job_another_worker_is_training(tmp_path: Path) -> None:
    for name in ("held", "broken"):  # both with an unreadable results.json (e.g. an interrupted write)
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text("{")
    with RunLock(tmp_path / "held"):
        assert [run.name for run, _ in failed_runs(tmp_path)] == ["broken"]
        assert [(run.name, holder["pid"]) for run, holder in running_elsewhere(tmp_path)] == [
            ("held", os.getpid())
        ]
    assert [run.name for run, _ in failed_runs(tmp_path)] == ["broken", "held"]  # nobody trains it now
    assert running_elsewhere(tmp_path) == []


def _worker(tmp_path: Path, name: str, overrides: list[str]) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    with log.open("w") as handle:
        process = subprocess.Popen(
            [sys.executable, str(PROJECT_ROOT / "train.py"), "-m", *TINY_FAST, *overrides],
            cwd=PROJECT_ROOT, env={**_env(tmp_path), "OMP_NUM_THREADS": "1"}, stdout=handle,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    return process, log


def _job_dir(sweep: Path, job: int) -> Path:
    """The folder of job `job` of the sweep (`<job number>_<run name>`), or a path that does not exist yet."""
    return next(sweep.glob(f"{job}_*"), sweep / f"{job}_not_yet")


def _wait_for_holder(sweep: Path, job: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while (live_holder(_job_dir(sweep, job)) or {}).get("pid") != process.pid:
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_two_workers_started_with_the_same_command_share_the_sweep_and_train_each_job_once(
    tmp_path: Path,
) -> None:
    sweep, fits, release = tmp_path / "sweep", tmp_path / "fits.txt", tmp_path / "release"
    command = [f"hydra.sweep.dir={sweep}", "seed=1,2,3", "logger=none",
               "+callbacks.wait._target_=tests.test_run_identity.WaitForFile",
               f"+callbacks.wait.path={release}",
               "+callbacks.count._target_=tests.test_run_identity.CountFits", f"+callbacks.count.path={fits}",
               "+callbacks.count.seed=${seed}"]  # fmt: skip
    first, first_log = _worker(tmp_path, "first", command)
    second = None
    try:
        _wait_for_holder(sweep, 0, first, first_log)  # the first worker holds job 0 (it waits there)
        second, second_log = _worker(tmp_path, "second", command)  # the very same command
        _wait_for_holder(sweep, 1, second, second_log)  # it skipped job 0 and trains job 1
        release.touch()
        assert first.wait(timeout=600) == 0, first_log.read_text()[-3000:]
        assert second.wait(timeout=600) == 0, second_log.read_text()[-3000:]
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
    assert sorted(fits.read_text().split()) == ["1", "2", "3"]  # each job trained once, by one worker
    records = [read_results(_job_dir(sweep, job)) for job in range(3)]
    assert [r["status"] for r in records] == ["ok"] * 3
    assert [r["config"]["seed"] for r in records] == [1, 2, 3]
    assert "Skipped here, another worker of this sweep is training it" in second_log.read_text()
    assert "job(s) of the sweep failed" not in first_log.read_text() + second_log.read_text()
