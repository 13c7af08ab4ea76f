"""A new validator is one file plus one `_target_` entry in a selection config: nothing else changes."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from nlp_transfer.config import CONFIG_DIR

TOY_VALIDATOR = '''
from nlp_transfer.selection.validator import Validator


class MeanConfidence(Validator):
    """Mean top probability on the target slice, times `scale` (a toy: higher is better)."""

    name = "toy"
    higher_is_better = True

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def __call__(self, target_unlabeled):
        return self.scale * float(target_unlabeled.probs.max(dim=-1).values.mean())
'''


@pytest.fixture
def toy_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`toy_validators.py` importable, and `selection/with_toy.yaml` = the default plus one entry."""
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "toy_validators.py").write_text(TOY_VALIDATOR)
    monkeypatch.syspath_prepend(str(code_dir))
    monkeypatch.delitem(sys.modules, "toy_validators", raising=False)
    selection = OmegaConf.load(CONFIG_DIR / "selection" / "default.yaml")
    selection.validators.append({"_target_": "toy_validators.MeanConfidence", "scale": 2.0})
    config_dir = tmp_path / "extra_conf"
    (config_dir / "selection").mkdir(parents=True)
    OmegaConf.save(selection, config_dir / "selection" / "with_toy.yaml")
    return config_dir


def test_a_toy_validator_from_a_temp_config_is_scored_logged_and_can_pick_the_checkpoint(
    run_training, toy_config_dir: Path
) -> None:
    record = run_training(
        f"hydra.searchpath=[file://{toy_config_dir}]", "selection=with_toy", "logger=csv",
        "trainer.val_check_interval=2", "checkpoint_metric=selection/toy",
    )  # fmt: skip
    selection = record["selection"]
    scores = [point["toy"] for point in selection["points"]]
    assert len(scores) == 2 and all(1.0 <= s <= 2.0 for s in scores)  # 2 × a top probability of 2 classes
    assert selection["directions"]["toy"] == "max"
    pick = selection["validators"]["toy"]
    assert pick["score"] == max(scores) and selection["checkpoint_metric"] == "selection/toy"
    assert f"step{pick['step']}" in Path(selection["checkpoint"]).name  # ModelCheckpoint saw it, mode max
    assert {"source_val", "entropy", "info_max", "dev"} <= set(selection["validators"])  # the rest still run
    (metrics_file,) = (record["output_dir"] / "csv").rglob("metrics.csv")
    rows = list(csv.DictReader(metrics_file.open()))
    logged = [float(row["selection/toy"]) for row in rows if row["selection/toy"]]
    assert logged == pytest.approx(scores) and not any(math.isnan(v) for v in logged)
