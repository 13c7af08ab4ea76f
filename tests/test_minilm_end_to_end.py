"""The real thing from the command line: `python train.py` with the packaged MiniLM on real reviews."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nlp_transfer.config import PROJECT_ROOT
from tests.wandb_offline import history_rows


@pytest.mark.slow
def test_minilm_fine_tune_from_the_cli_learns_and_logs_offline(tmp_path) -> None:
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_API_KEY", "WANDB_MODE")}
    env["HF_HUB_OFFLINE"] = "1"
    command = [
        sys.executable, "train.py", "debug=smoke", "backbone=minilm", "strategy=fine_tune", "logger=wandb",
        "task.max_length=64", "task.batch_size=16", "task.max_train_examples=null",
        "task.max_eval_examples=200",
        "trainer.limit_train_batches=30", "trainer.limit_val_batches=null", "trainer.limit_test_batches=null",
        "strategy.optimizer.lr=1e-4", f"paths.cache_dir={tmp_path / 'cache'}", f"hydra.run.dir={run_dir}",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((run_dir / "results.json").read_text())
    assert record["status"] == "ok" and record["config"]["backbone"] == "minilm"
    # 200 balanced kitchen reviews: chance is 0.5 (std 0.035); pretrained MiniLM after 30 steps is far above
    assert record["metrics"]["target/test/acc"] > 0.7
    assert record["metrics"]["source/val/acc"] > 0.7
    assert f"target/test/acc        {record['metrics']['target/test/acc']:.4f}" in result.stdout

    (run_file,) = (run_dir / "wandb").glob("offline-run-*/run-*.wandb")
    logged = {key: value for row in history_rows(run_file) for key, value in row.items()}
    assert logged["target/test/acc"] == pytest.approx(record["metrics"]["target/test/acc"])
