"""Optuna search through Hydra: a label-free objective, and a study that resumes from its SQLite storage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from nlp_transfer.config import PROJECT_ROOT


def complete_trials(db: Path) -> list[optuna.trial.FrozenTrial]:
    if not db.is_file():
        return []
    try:
        study = optuna.load_study(study_name="sentiment_fine_tune", storage=f"sqlite:///{db}")
    except KeyError:  # the study row is not written yet
        return []
    return [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]


@pytest.mark.slow
def test_an_interrupted_search_resumes_to_exactly_the_requested_trials(tmp_path: Path) -> None:
    command = [
        sys.executable, str(PROJECT_ROOT / "train.py"), "-m", "hparams_search=optuna", "backbone=tiny",
        "debug=smoke", "hydra.sweeper.n_trials=4", f"paths.log_dir={tmp_path / 'logs'}",
        f"paths.cache_dir={tmp_path / 'cache'}",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "WANDB_API_KEY"} | {"HF_HUB_OFFLINE": "1"}
    db = tmp_path / "logs" / "sentiment" / "optuna" / "sentiment_fine_tune" / "optuna.db"

    first = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while len(complete_trials(db)) < 2:
        assert first.poll() is None, "the search ended before it could be interrupted"
        assert time.monotonic() < deadline, "two trials did not complete in time"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # an interruption, as a preempted job or Ctrl-C would leave it
    first.wait()
    interrupted_at = len(complete_trials(db))
    assert 2 <= interrupted_at < 4

    second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"{interrupted_at} of 4 trials complete" in second.stdout + second.stderr
    study = optuna.load_study(study_name="sentiment_fine_tune", storage=f"sqlite:///{db}")
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) == 4
    assert set(states) <= {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL}
    values = [t.value for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert all(0.0 <= v <= 1.0 for v in values)  # the objective: source/val/acc of each trial


def test_tuning_on_target_labels_needs_the_oracle_flag(run_training, tmp_path) -> None:
    with pytest.raises(ValueError, match="oracle=true"):
        run_training("optimized_metric=target/test/acc", output_dir=tmp_path / "refused")
    record = run_training("optimized_metric=target/test/acc", "oracle=true", output_dir=tmp_path / "oracle")
    assert record["config"]["oracle"] is True
    assert record["selection"]["objective"] == "target/test/acc"
    assert record["selection"]["validator"] == "source/val/acc"  # checkpoints never chosen on target labels
