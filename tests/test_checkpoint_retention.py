"""A finished run keeps its chosen model as weights only; an unfinished one keeps what resumes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from nlp_transfer.checkpoint_identity import IDENTITY_KEY
from nlp_transfer.checkpoint_io import load_checkpoint
from nlp_transfer.checkpoint_retention import keep_chosen_weights
from nlp_transfer.run_weights import KEPT_WEIGHTS, load_weights


class FailAtTestOnce(pl.Callback):
    """Fails the first run after training, as testing starts (it ends `failed`, with its checkpoints);
    `marker` remembers it, so the same command run again goes through."""

    def __init__(self, marker: str) -> None:
        self.marker = Path(marker)

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.marker.exists():
            self.marker.touch()
            raise RuntimeError("failing on purpose after fit")


def test_a_finished_run_keeps_only_the_chosen_weights_and_eval_reads_them(run_training) -> None:
    from nlp_transfer.eval import evaluate

    record = run_training()
    run_dir = record["output_dir"]
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["model.safetensors"]
    assert record["selection"]["weights"] == str(KEPT_WEIGHTS)
    assert "best-epoch00-" in Path(record["selection"]["checkpoint"]).name  # the pick, as chosen
    state = load_weights(run_dir / KEPT_WEIGHTS)
    assert state[IDENTITY_KEY]["label_names"] == ["negative", "positive"]
    assert not any("optimizer" in key for key in state["state_dict"])
    assert evaluate(run_dir)["target/test/acc"] == pytest.approx(record["metrics"]["target/test/acc"])
    with pytest.raises(FileNotFoundError, match=r"last\.ckpt no longer exists.*keep_checkpoints=all"):
        evaluate(run_dir, checkpoint="last")


def test_keep_checkpoints_all_keeps_both_and_the_kept_weights_equal_the_best_checkpoints(
    run_training, tmp_path: Path
) -> None:
    record = run_training("keep_checkpoints=all")
    run_dir = record["output_dir"]
    best = Path(record["selection"]["checkpoint"])
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == sorted([best.name, "last.ckpt"])
    assert "weights" not in record["selection"]
    written = keep_chosen_weights(tmp_path / "copy", model=None, best_path=str(best))
    kept, full = load_weights(tmp_path / "copy" / written), load_checkpoint(best)
    assert kept["state_dict"].keys() == full["state_dict"].keys()
    assert all(torch.equal(kept["state_dict"][k], v) for k, v in full["state_dict"].items())
    assert kept[IDENTITY_KEY] == full[IDENTITY_KEY]
    results = run_dir / "results.json"
    stamp = results.stat().st_mtime_ns
    again = run_training(output_dir=run_dir)  # keep_checkpoints is no part of the run's identity
    assert results.stat().st_mtime_ns == stamp and again["metrics"] == record["metrics"]


def test_a_failed_run_keeps_last_ckpt_and_its_rerun_resumes_then_keeps_weights_only(
    run_training, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"  # run_training's run dir
    hook = ["+callbacks.fail._target_=tests.test_checkpoint_retention.FailAtTestOnce",
            f"+callbacks.fail.marker={tmp_path / 'failed_once'}"]  # fmt: skip
    with pytest.raises(RuntimeError, match="failing on purpose"):
        run_training(*hook)
    assert json.loads((run_dir / "results.json").read_text())["status"] == "failed"
    assert (run_dir / "checkpoints" / "last.ckpt").is_file() and not (run_dir / KEPT_WEIGHTS).exists()
    resumed = run_training(*hook)  # the same command
    assert resumed["status"] == "ok" and resumed["resumed_from"]["global_step"] == 4
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["model.safetensors"]


def test_an_unknown_keep_checkpoints_value_is_refused_before_training(run_training, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"keep_checkpoints='some'.*`chosen`.*`all`"):
        run_training("keep_checkpoints=some")
    assert not (tmp_path / "run" / "checkpoints").exists()
