"""`logger=tensorboard`: Lightning's TensorBoardLogger writes event files that hold the run's metrics."""

from __future__ import annotations

import pytest

from tests.tensorboard_events import scalars


def test_tensorboard_event_files_hold_the_train_loss_and_the_logged_metrics(run_training) -> None:
    record = run_training("strategy=fine_tune", "logger=tensorboard")
    log_dir = record["output_dir"] / "tensorboard"
    assert list(log_dir.glob("events.out.tfevents.*")), f"no event file in {log_dir}"
    assert (log_dir / "hparams.yaml").is_file()
    logged = scalars(log_dir)
    assert len(logged["train/loss"]) == 4, "smoke: 4 training steps, each logged (log_every_n_steps=1)"
    assert all(value > 0 for _, value in logged["train/loss"])
    assert [step for step, _ in logged["train/loss"]] == [0, 1, 2, 3]
    assert "source/val/acc" in logged
    assert logged["target/test/acc"][-1][1] == pytest.approx(record["metrics"]["target/test/acc"])
    assert logged["source/test/acc"][-1][1] == pytest.approx(record["metrics"]["source/test/acc"])
