"""`trainer=ddp` under Hydra: two CPU processes (gloo), one run dir, one results.json, synced metrics."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nlp_transfer.config import PROJECT_ROOT
from nlp_transfer.results.record import read_results
from tests.conftest import TINY_FAST

# lr=0: both runs evaluate the same (seeded) initial weights, so any metric difference comes from how DDP
# shards and syncs evaluation. With 64 examples per split and 2 ranks each rank gets 32: the
# DistributedSampler pads nothing, torchmetrics sum their states over ranks, hence equality up to float
# rounding (1e-6). With training on (lr > 0) the two runs would differ for real: each DDP step averages
# 2×8 examples (batch 16) drawn by another sampler, while the single run steps on 8.
SAME_WEIGHTS = ["strategy.optimizer.lr=0", "trainer.accelerator=cpu"]


@pytest.mark.slow
def test_ddp_two_processes_write_one_run_dir_and_match_a_single_process_run(
    run_training, tmp_path: Path, data_dir: Path
) -> None:
    log_dir = tmp_path / "logs"
    env = {**os.environ, "NLP_TRANSFER_LOGS": str(log_dir), "NLP_TRANSFER_CACHE": str(tmp_path / "cache")}
    command = [sys.executable, str(PROJECT_ROOT / "train.py"), *TINY_FAST, *SAME_WEIGHTS, "trainer=ddp"]
    done = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    (run_dir,) = (log_dir / "sentiment" / "runs").iterdir()  # one run dir for both ranks
    assert (run_dir / "train_rank1.log").is_file()  # rank 1 ran in it
    assert list(log_dir.rglob("results.json")) == [run_dir / "results.json"]
    ddp = read_results(run_dir)
    assert ddp["status"] == "ok" and ddp["config"]["resolved"]["trainer"]["devices"] == 2

    single = run_training(*SAME_WEIGHTS, "task.length_grouping=false")
    keys = [k for k in single["metrics"] if k.split("/")[-1] in ("acc", "macro_f1", "f1")]
    assert keys
    for key in keys:
        assert ddp["metrics"][key] == pytest.approx(single["metrics"][key], abs=1e-6), key
