"""What a default run prints: none of the known-harmless library noise, and where the run's files went."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from nlp_transfer.config import PROJECT_ROOT
from nlp_transfer.console import run_location

NOISE = {
    "Lightning's litlogger tip": "litlogger",
    "W&B's anonymous-setting warning": "anonymous setting",
    "torch's LeafSpec deprecation": "LeafSpec",
    "Lightning's 'multiple ModelCheckpoint' warning": "multiple `ModelCheckpoint`",
    "Lightning's model summary": "Total FLOPs",
    "Lightning's test table (a column per DataLoader)": "Test metric",
    "Lightning's note on each checkpoint save": "`weights_only` was not set",
}


def test_a_default_run_prints_no_known_noise_and_ends_with_its_dir_and_wandb_sync(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_SILENT")}
    env["HF_HUB_OFFLINE"] = "1"
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "train.py"), "backbone=tiny", "debug=smoke",
         "logger=wandb", f"hydra.run.dir={run_dir}", f"paths.cache_dir={tmp_path / 'cache'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    assert {what: text for what, text in NOISE.items() if text in console} == {}
    (offline_run,) = (run_dir / "wandb").glob("offline-run-*")
    assert result.stdout.rstrip().splitlines()[-3:] == [
        f"Run dir:      {run_dir}",
        f"Results:      {run_dir / 'results.json'}",
        f"W&B offline:  wandb sync {offline_run}",
    ]


def test_a_run_without_offline_wandb_runs_names_no_sync_command(tmp_path: Path) -> None:
    (tmp_path / "wandb" / "run-20260101_000000-abc").mkdir(parents=True)  # an online run: already synced
    assert "wandb sync" not in run_location(tmp_path)
    offline = tmp_path / "wandb" / "offline-run-20260101_000000-def"
    offline.mkdir()
    assert run_location(tmp_path).endswith(f"wandb sync {offline}")
