"""Every shipped config composes, and every strategy config matches its class's signature."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from nlp_transfer.config import CONFIG_DIR, PROJECT_ROOT
from tests.conftest import compose_config


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


BACKBONES, STRATEGIES, TASKS = options("backbone"), options("strategy"), options("task")


def test_the_skeleton_ships_the_expected_options() -> None:
    # strategies are not listed here: tests/strategies/test_strategy_contracts.py checks every one it finds
    assert {"minilm", "tiny", "bert_base", "distilbert", "roberta_base", "deberta_v3_base"} <= set(BACKBONES)
    assert "fine_tune" in STRATEGIES  # train.yaml's default
    assert "sentiment" in TASKS


@pytest.mark.parametrize(
    ("backbone", "strategy", "task"), list(itertools.product(BACKBONES, STRATEGIES, TASKS))
)
def test_every_backbone_strategy_task_combination_composes(
    backbone: str, strategy: str, task: str, tmp_path
) -> None:
    cfg = compose_config([f"backbone={backbone}", f"strategy={strategy}", f"task={task}"], tmp_path)
    assert cfg.backbone.name == backbone
    assert cfg.task.name == task
    assert cfg.task.source in cfg.task.domains and cfg.task.target in cfg.task.domains
    assert cfg.strategy._target_.startswith("nlp_transfer.strategies.")
    assert cfg.run_name == f"{strategy}_{backbone}_{task}_{cfg.domain.source}-{cfg.domain.target}"
    assert cfg.trainer.accelerator == "auto"


def test_a_run_tested_on_every_domain_is_named_after_its_source_only(tmp_path) -> None:
    pair = ["strategy=fine_tune", "domain.source=dvd", "domain.target=kitchen"]
    cfg = compose_config(pair, tmp_path)
    assert cfg.run_name.endswith("_dvd-kitchen")
    cfg = compose_config([*pair, "evaluate_on=all_domains"], tmp_path)
    assert cfg.run_name.endswith("_dvd-all")


def test_every_task_has_a_default_domain_pair_of_its_own_domains(tmp_path) -> None:
    for task in TASKS:
        cfg = compose_config([f"task={task}"], tmp_path)
        assert {cfg.domain.source, cfg.domain.target} <= set(cfg.task.domains)


def test_domain_pair_overrides_reach_the_task(tmp_path) -> None:
    cfg = compose_config(["domain.source=dvd", "domain.target=dvd"], tmp_path)
    assert (cfg.task.source, cfg.task.target) == ("dvd", "dvd")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_few_shot_training_uses_fine_tune_pooled_as_the_main_strategy(strategy: str, tmp_path) -> None:
    fine_tune = compose_config(["strategy=fine_tune"], tmp_path).strategy
    cfg = compose_config([f"strategy={strategy}", "target_finetune=few_shot"], tmp_path)
    phase = OmegaConf.to_container(cfg.target_finetune.strategy, resolve=True)
    assert phase == {**OmegaConf.to_container(fine_tune, resolve=True), "pooling": cfg.strategy.pooling}


STRATEGY_YAMLS = sorted((CONFIG_DIR / "strategy").rglob("*.yaml"))
# a cited paper or library ("Devlin et al. 2019", "Howard & Ruder 2018") or an honest "not tuned"/"chosen on"
PROVENANCE = re.compile(r"(19|20)\d\d|not tuned|chosen on")


@pytest.mark.parametrize("path", STRATEGY_YAMLS, ids=lambda p: p.relative_to(CONFIG_DIR).as_posix())
def test_every_strategy_yaml_opens_with_a_comment_that_says_where_its_defaults_came_from(path) -> None:
    # issue 15: each yaml says where its defaults came from (a paper, a library, or runs on development pairs)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines and lines[0].startswith("# ") and lines[0][2:].strip(), f"{path}: no header comment"
    comments = " ".join(line.split("#", 1)[1] for line in lines if "#" in line)
    assert PROVENANCE.search(comments), f"{path}: name the paper, library or tuning its defaults came from"


def test_a_changed_checkpoint_metric_reaches_the_checkpoint_callback(tmp_path) -> None:
    cfg = compose_config(["checkpoint_metric=selection/dev"], tmp_path)
    assert cfg.callbacks.model_checkpoint.monitor == "selection/dev"
    assert compose_config([], tmp_path).callbacks.model_checkpoint.monitor == cfg.task.selection_metric


@pytest.mark.parametrize(
    "group", ["debug", "experiment", "logger", "callbacks", "trainer", "target_finetune"]
)
def test_every_option_of_the_other_groups_composes(group: str, tmp_path) -> None:
    for option in options(group):
        cfg = compose_config([f"{group}={option}"], tmp_path)
        assert cfg.trainer._target_ == "pytorch_lightning.Trainer"


def test_unknown_strategy_fails_with_hydras_list_of_options() -> None:
    result = subprocess.run(
        [sys.executable, "train.py", "strategy=not_a_strategy", "--cfg", "job"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "not_a_strategy" in result.stderr and "fine_tune" in result.stderr
