"""Bad budgets and configs are refused before training, naming the key and the fix; no silent no-op runs."""

from __future__ import annotations

import functools
import json

import pytest
import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.demos.boring_classes import BoringModel
from transformers import BertConfig, DebertaV2Config, MPNetConfig, RobertaConfig

from nlp_transfer.callbacks.validation_budget import ValidationBudgetError, ValidationBudgetGuard
from nlp_transfer.preflight import ConfigError, check_config, check_optimizer_arguments, position_limit
from nlp_transfer.strategies.domain_adaptation import DomainLossSkippedError
from tests.conftest import TINY_FAST, compose_config


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("task.batch_size=abc", "task.batch_size must be an integer, got 'abc'; e.g. `task.batch_size=16`"),
        ("trainer.max_steps=x", "trainer.max_steps must be an integer, got 'x'"),
        ("task.max_length=-1", "task.max_length must lie in [2, inf], got -1"),
        ("strategy.optimizer.lr=fast", "strategy.optimizer.lr must be a number, got 'fast'"),
        ("strategy.weight_decay='0.01'", "strategy.weight_decay must be a number, got '0.01'"),
        ("trainer.limit_val_batches=1.5", "trainer.limit_val_batches as a float is a share of the epoch"),
        ("trainer.max_steps=0", "trainer.max_steps=0 trains no step"),
        ("trainer.max_epochs=0", "trainer.max_epochs=0 trains no epoch"),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(override: str, named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        check_config(compose_config([*TINY_FAST, override]))
    assert named in str(refused.value)


@pytest.mark.parametrize(
    "experiment", ["cpu_table", "cpu_quick", "cpu_probe", "strategy_table", "amazon_grid"]
)
def test_the_shipped_budgets_pass(experiment: str) -> None:
    check_config(compose_config([f"experiment={experiment}"]))
    check_config(compose_config([*TINY_FAST, "strategy=coral"]))


def test_train_refuses_a_wrong_type_before_building_and_records_it(run_training, tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"task\.batch_size must be an integer, got 'abc'"):
        run_training("task.batch_size=abc")
    record = json.loads((tmp_path / "run" / "results.json").read_text())
    assert record["status"] == "failed" and "task.batch_size" in record["error"]
    assert not (tmp_path / "cache").exists()  # refused before any data was read


def test_zero_training_steps_are_refused_before_training(run_training, tmp_path) -> None:
    with pytest.raises(ConfigError, match="trainer.max_steps=0 trains no step; use -1"):
        run_training("trainer.max_steps=0")
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_max_length_beyond_the_backbones_positions_is_refused_with_the_fix(run_training, tmp_path) -> None:
    # conf/backbone/tiny.yaml leaves random_bert's max_position_embeddings at 512
    with pytest.raises(
        ConfigError, match=r"task.max_length=1024 exceeds the 512 positions .*`task.max_length=512`"
    ):
        run_training("task.max_length=1024")
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_an_optimizer_argument_its_class_does_not_take_is_refused_before_training(run_training, tmp_path):
    # Rprop has no fused kernel: the default AdamW's `fused: true` stays behind when only the target changes
    refusal = r"torch.optim.rprop.Rprop takes no argument fused.*`~strategy.optimizer.fused`"
    with pytest.raises(ConfigError, match=refusal):
        run_training("strategy.optimizer._target_=torch.optim.Rprop")
    assert not (tmp_path / "run" / "checkpoints").exists()
    record = run_training("strategy.optimizer._target_=torch.optim.Rprop", "~strategy.optimizer.fused",
                          output_dir=tmp_path / "fixed")  # fmt: skip
    assert record["status"] == "ok"


def test_optimizer_arguments_are_checked_against_the_class_only_where_it_can_say() -> None:
    check_optimizer_arguments(functools.partial(torch.optim.AdamW, lr=1e-3, fused=True))
    check_optimizer_arguments(functools.partial(lambda params, **anything: None, whatever=1))  # takes all
    check_optimizer_arguments(None)
    with pytest.raises(ConfigError, match=r"takes no argument betas2, fused"):
        check_optimizer_arguments(functools.partial(torch.optim.Rprop, lr=0.1, betas2=0.9, fused=True))


def test_position_limits_of_absolute_offset_and_relative_encoders() -> None:
    assert position_limit(BertConfig(max_position_embeddings=512)) == 512
    assert position_limit(RobertaConfig(max_position_embeddings=514, pad_token_id=1)) == 512
    assert position_limit(MPNetConfig(max_position_embeddings=514, pad_token_id=1)) == 512
    assert position_limit(DebertaV2Config(position_biased_input=False)) is None


@pytest.mark.parametrize("strategy", ["mmd", "coral"])
def test_a_batch_too_small_for_the_domain_loss_is_refused_before_training(strategy, run_training, tmp_path):
    with pytest.raises(ConfigError, match=r"task.batch_size=1: .* at least 2 texts .* `task.batch_size=2`"):
        run_training(f"strategy={strategy}", "task.batch_size=1")
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_max_domain_rows_below_the_losss_minimum_is_refused(run_training) -> None:
    with pytest.raises(ConfigError, match=r"strategy.max_domain_rows=1: .* `strategy.max_domain_rows=2`"):
        run_training("strategy=coral", "strategy.max_domain_rows=1")


def test_a_run_that_skipped_the_domain_loss_on_too_many_steps_fails(run_training, tmp_path) -> None:
    # 3 texts a domain in batches of 2: the second of the 2 steps holds one text, too few for a covariance
    with pytest.raises(DomainLossSkippedError, match=r"on 1 of 2 training steps \(50%\)"):
        run_training("strategy=coral", "task.batch_size=2", "task.max_train_examples=3")
    record = json.loads((tmp_path / "run" / "results.json").read_text())
    assert record["status"] == "failed" and "DomainLossSkippedError" in record["error"]


class StopAtFirstBatch(Callback):
    """Ends `fit` once the guard (an earlier callback) has passed, so a valid budget costs one batch."""

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        trainer.should_stop = True


def start_fit(overrides: list[str], tmp_path) -> None:
    """Start fitting BoringModel (64 batches an epoch) under the trainer config of `overrides`."""
    trainer_cfg = compose_config(overrides).trainer
    checkpoint = ModelCheckpoint(dirpath=tmp_path, monitor="valid")
    callbacks = [checkpoint, ValidationBudgetGuard(), StopAtFirstBatch()]
    trainer = instantiate(
        trainer_cfg, default_root_dir=str(tmp_path), accelerator="cpu", logger=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=callbacks,
    )  # fmt: skip
    trainer.fit(BoringModel())


@pytest.mark.parametrize(
    "overrides",
    [[*TINY_FAST], ["experiment=cpu_table"], ["experiment=cpu_quick"], ["experiment=strategy_table"], []],
)
def test_shipped_budgets_validate_before_they_end(overrides: list[str], tmp_path) -> None:
    start_fit(overrides, tmp_path)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (["trainer.max_epochs=2", "trainer.check_val_every_n_epoch=3"], "first validates after batch 192"),
        (["experiment=cpu_table", "trainer.val_check_interval=80"], "stops after 50 batches"),
        (["trainer.max_steps=10"], "first validates after batch 64"),  # epoch-end validation, 64 per epoch
        (["trainer.limit_val_batches=0"], "trainer.limit_val_batches=0 validates nothing"),
    ],
)
def test_a_budget_that_never_validates_is_refused_before_the_first_batch(overrides, named, tmp_path) -> None:
    with pytest.raises(ValidationBudgetError, match=named):
        start_fit(overrides, tmp_path)


def test_train_refuses_a_budget_that_ends_before_validation(run_training, tmp_path) -> None:
    with pytest.raises(ValidationBudgetError, match="could never choose a checkpoint"):
        run_training("trainer.max_epochs=1", "trainer.check_val_every_n_epoch=2")
    assert not list((tmp_path / "run").rglob("*.ckpt"))
