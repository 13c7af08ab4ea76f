"""The real thing from the command line: `python train.py` with the packaged MiniLM, one run per task.

`experiment=cpu_probe` (30 steps) on each task's default cross-domain pair. The floors sit well above
what a model that learned nothing scores (majority class or chance), and below what the probe reached
when measured (see the README, "Measured").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nlp_transfer.config import PROJECT_ROOT
from tests.wandb_offline import history_rows

# task → (headline metric, floor for source/val, floor for target/test)
FLOORS = {
    "sentiment": ("acc", 0.70, 0.70),  # balanced binary: chance 0.5
    "emotion": ("macro_f1", 0.20, 0.15),  # 5 classes: a majority-class model scores ≈ 0.12
    "topic": ("acc", 0.70, 0.45),  # 4 balanced-ish classes: chance ≈ 0.25
    "ner": ("f1", 0.15, 0.10),  # entity F1 of a model that tags nothing is 0
}


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(FLOORS))
def test_minilm_fine_tune_from_the_cli_learns_and_logs_offline(task: str, tmp_path) -> None:
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_API_KEY", "WANDB_MODE")}
    env["HF_HUB_OFFLINE"] = "1"
    command = [
        sys.executable, "train.py", "experiment=cpu_probe", f"task={task}", "backbone=minilm",
        "strategy=fine_tune", "logger=wandb", f"paths.cache_dir={tmp_path / 'cache'}",
        f"hydra.run.dir={run_dir}",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((run_dir / "results.json").read_text())
    assert record["status"] == "ok" and record["config"]["backbone"] == "minilm"
    metric, source_floor, target_floor = FLOORS[task]
    assert record["metrics"][f"source/val/{metric}"] > source_floor
    assert record["metrics"][f"target/test/{metric}"] > target_floor
    assert f"target/test/{metric}" in result.stdout  # the summary is printed

    (run_file,) = (run_dir / "wandb").glob("offline-run-*/run-*.wandb")
    logged = {key: value for row in history_rows(run_file) for key, value in row.items()}
    assert logged[f"target/test/{metric}"] == pytest.approx(record["metrics"][f"target/test/{metric}"])
