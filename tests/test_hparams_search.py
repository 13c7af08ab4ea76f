"""Optuna search through Hydra: a label-free objective, and a study that resumes from its SQLite storage."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import optuna
import pytest

from nlp_transfer.config import PROJECT_ROOT


def completed_trial_count(db: Path) -> int:
    """COMPLETE trials of the study, read through a read-only SQLite connection while the search runs.

    `optuna.load_study` would create the schema itself on a fresh file, racing the sweep that is creating
    it (CI once saw `UNIQUE constraint failed: alembic_version`): the poll must never write.
    """
    if not db.is_file():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as connection:
            (count,) = connection.execute(
                "SELECT COUNT(*) FROM trials JOIN studies USING (study_id) "
                "WHERE studies.study_name = ? AND trials.state = 'COMPLETE'",
                ("sentiment_fine_tune",),
            ).fetchone()
    except sqlite3.OperationalError:  # no tables yet, or locked for a moment
        return 0
    return int(count)


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
    while completed_trial_count(db) < 2:
        assert first.poll() is None, "the search ended before it could be interrupted"
        assert time.monotonic() < deadline, "two trials did not complete in time"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # an interruption, as a preempted job or Ctrl-C would leave it
    first.wait()
    interrupted_at = completed_trial_count(db)
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
    assert record["selection"]["checkpoint_metric"] == "source/val/acc"  # never chosen on target labels


def test_objective_directions_follow_the_metric_or_the_validator() -> None:
    from nlp_transfer.objective import objective_direction

    assert objective_direction("source/val/acc") == "maximize"
    assert objective_direction("source/val/loss") == "minimize"
    assert objective_direction("selection/source_val") == "maximize"
    assert [objective_direction(f"selection/{v}") for v in ("entropy", "info_max", "dev")] == ["minimize"] * 3
    with pytest.raises(ValueError, match="no validator 'nope'"):
        objective_direction("selection/nope")


def test_a_validator_objective_needs_its_validator_to_run(run_training, tmp_path) -> None:
    with pytest.raises(ValueError, match="selection=default and list it"):
        run_training("optimized_metric=selection/entropy", "selection=none", output_dir=tmp_path / "off")
    with pytest.raises(ValueError, match="list it in selection.validators"):
        run_training(
            "optimized_metric=selection/dev",
            "selection.validators=[{_target_:nlp_transfer.selection.entropy.EntropyValidator}]",
            output_dir=tmp_path / "unlisted",
        )  # fmt: skip


def test_a_validator_objective_is_the_validators_score_at_its_own_pick(run_training) -> None:
    from nlp_transfer.objective import objective_value
    from nlp_transfer.results.record import read_record

    record = run_training(
        "strategy=dann", "optimized_metric=selection/entropy", "trainer.val_check_interval=2"
    )
    picks = record["selection"]["validators"]
    assert len(record["selection"]["points"]) == 2  # two validation points to choose from
    scores = [point["entropy"] for point in record["selection"]["points"]]
    assert picks["entropy"]["score"] == min(scores)
    assert record["selection"]["objective"] == "selection/entropy"
    assert record["selection"]["objective_value"] == min(scores)
    assert objective_value(read_record(record["output_dir"]), "selection/entropy") == min(scores)


def search(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable, str(PROJECT_ROOT / "train.py"), "-m", "hparams_search=optuna", "backbone=tiny",
        "debug=smoke", f"paths.log_dir={tmp_path / 'logs'}", f"paths.cache_dir={tmp_path / 'cache'}",
        *overrides,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "WANDB_API_KEY"} | {"HF_HUB_OFFLINE": "1"}
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_a_search_on_a_validator_minimises_what_each_trial_reports(tmp_path: Path) -> None:
    import json

    result = search(
        tmp_path, "strategy=dann", "optimized_metric=selection/entropy", "hydra.sweeper.n_trials=2",
        "hydra.sweeper.study_name=entropy",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir = tmp_path / "logs" / "sentiment" / "optuna" / "entropy"
    study = optuna.load_study(study_name="entropy", storage=f"sqlite:///{sweep_dir / 'optuna.db'}")
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    runs = sweep_dir.glob("*/results.json")
    records = {int(p.parent.name.split("_")[0]): json.loads(p.read_text()) for p in runs}
    assert len(study.trials) == len(records) == 2
    for trial in study.trials:
        record = records[trial.number]
        assert trial.value == pytest.approx(record["selection"]["validators"]["entropy"]["score"])
        assert trial.params["strategy.optimizer.lr"] == pytest.approx(
            record["config"]["resolved"]["strategy"]["optimizer"]["lr"]
        )


@pytest.mark.slow
def test_a_search_whose_trials_always_fail_stops_and_exits_non_zero(tmp_path: Path) -> None:
    result = search(
        tmp_path, "domain.target=nowhere", "hydra.sweeper.n_trials=3", "hydra.sweeper.max_failed_trials=2",
        "hydra.sweeper.study_name=failing",
    )  # fmt: skip
    assert result.returncode == 1
    assert "2 trials failed in this run" in result.stdout + result.stderr
    db = tmp_path / "logs" / "sentiment" / "optuna" / "failing" / "optuna.db"
    study = optuna.load_study(study_name="failing", storage=f"sqlite:///{db}")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL] * 2
