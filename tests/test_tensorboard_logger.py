"""`logger=tensorboard`: Lightning's TensorBoardLogger writes event files that hold the run's metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tensorboard_events import scalars
from tests.test_run_identity import _run_dir, _train_py


def test_tensorboard_event_files_hold_the_train_loss_and_the_logged_metrics(tmp_path: Path) -> None:
    # in a fresh process, as a user runs it: an in-process run after many other tests once wrote no
    # train/loss scalars (global logging state left behind by an earlier test)
    done = _train_py(tmp_path, "strategy=fine_tune", "logger=tensorboard")
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = _run_dir(tmp_path)
    record = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    log_dir = run_dir / "tensorboard"
    assert list(log_dir.glob("events.out.tfevents.*")), f"no event file in {log_dir}"
    assert (log_dir / "hparams.yaml").is_file()
    logged = scalars(log_dir)
    assert len(logged["train/loss"]) == 4, "smoke: 4 training steps, each logged (log_every_n_steps=1)"
    assert all(value > 0 for _, value in logged["train/loss"])
    assert [step for step, _ in logged["train/loss"]] == [0, 1, 2, 3]
    assert "source/val/acc" in logged
    assert logged["target/test/acc"][-1][1] == pytest.approx(record["metrics"]["target/test/acc"])
    assert logged["source/test/acc"][-1][1] == pytest.approx(record["metrics"]["source/test/acc"])
