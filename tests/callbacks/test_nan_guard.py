import json

import pytest

from nlp_transfer.callbacks.nan_guard import NonFiniteLossError


def test_a_nan_loss_stops_the_run_early_and_is_recorded(run_training, tmp_path) -> None:
    out = tmp_path / "nan"
    with pytest.raises(NonFiniteLossError, match=r"Training loss is nan at step \d+.*strategy.optimizer.lr"):
        run_training(
            "strategy=fine_tune", "strategy.optimizer.lr=1e30", "trainer.gradient_clip_val=null",
            "trainer.limit_train_batches=8", output_dir=out,
        )  # fmt: skip
    record = json.loads((out / "results.json").read_text())
    assert record["status"] == "failed" and "NonFiniteLossError" in record["error"]
