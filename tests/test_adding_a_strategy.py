"""Adding a strategy is one module and one yaml: a toy strategy written outside the project trains
through `train.py` and through the transfer_grid sweeper with no edit to the project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nlp_transfer.config import PROJECT_ROOT

TOY_MODULE = '''
"""A strategy from outside the project: fine-tuning, under a name of its own."""
from nlp_transfer.strategies.fine_tune import FineTuneModule


class ToyModule(FineTuneModule):
    uses_target_data = False
'''

TOY_YAML = """
defaults:
  - _base_/transfer@_here_
  - scheduler: linear_warmup_decay
  - _self_
_target_: toy_strategy.ToyModule
uses_target_data: false
"""


@pytest.fixture
def toy_strategy(tmp_path: Path) -> Path:
    """`<tmp>/toy_strategy.py` and `<tmp>/conf/strategy/toy.yaml`; returns `<tmp>`."""
    (tmp_path / "toy_strategy.py").write_text(TOY_MODULE)
    (tmp_path / "conf" / "strategy").mkdir(parents=True)
    (tmp_path / "conf" / "strategy" / "toy.yaml").write_text(TOY_YAML)
    return tmp_path


def train(toy_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """`python train.py <args>` with the toy's config dir searched and its module importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_API_KEY", "WANDB_MODE")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(toy_dir), env.get("PYTHONPATH")]))
    env["HF_HUB_OFFLINE"] = "1"
    command = [
        sys.executable, str(PROJECT_ROOT / "train.py"), *args,
        f"hydra.searchpath=[file://{toy_dir / 'conf'}]", "backbone=tiny", "debug=smoke",
        f"paths.cache_dir={toy_dir / 'cache'}",
    ]  # fmt: skip
    return subprocess.run(command, cwd=toy_dir, env=env, capture_output=True, text=True, timeout=600)


def test_a_toy_strategy_trains_through_train_py(toy_strategy: Path) -> None:
    run_dir = toy_strategy / "run"
    result = train(toy_strategy, "strategy=toy", f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((run_dir / "results.json").read_text())
    assert record["status"] == "ok" and record["config"]["strategy"] == "toy"
    assert record["config"]["resolved"]["strategy"]["_target_"] == "toy_strategy.ToyModule"
    assert 0.0 <= record["metrics"]["target/test/acc"] <= 1.0


def test_the_grid_sweeper_trains_a_source_only_toy_once_per_source(toy_strategy: Path) -> None:
    sweep_dir = toy_strategy / "sweep"
    result = train(
        toy_strategy, "-m", "hydra/sweeper=transfer_grid", "strategy=toy,fine_tune", "domain.source=books",
        "domain.target=books,dvd", f"hydra.sweep.dir={sweep_dir}",
        "hydra.callbacks.sweep_report.enabled=false",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(path.read_text()) for path in sorted(sweep_dir.glob("*/results.json"))]
    # both declare uses_target_data: false, so each trains once and is tested on every domain
    assert [(r["config"]["strategy"], r["config"]["evaluate_on"]) for r in records] == [
        ("toy", "all_domains"), ("fine_tune", "all_domains")
    ]  # fmt: skip
    assert all(r["status"] == "ok" and "domains/dvd/test/acc" in r["metrics"] for r in records)
