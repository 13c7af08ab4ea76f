"""Gradual unfreezing, LoRA and UDALM: end to end on every task, and what each promises about its weights."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from nlp_transfer.assembly import build_data_and_model
from nlp_transfer.models.masking import masking_vocabulary
from nlp_transfer.strategies.domain_adaptation import TargetLabelLeakError
from nlp_transfer.strategies.gradual_unfreeze import GradualUnfreezeModule, stage_length
from nlp_transfer.strategies.lora import LoRAModule
from nlp_transfer.strategies.udalm import UDALMModule
from tests.conftest import TINY_FAST, compose_config
from tests.conftest import fit_quietly as fit

STRATEGIES = ["gradual_unfreeze", "lora", "udalm"]
TASKS = ["sentiment", "emotion", "topic", "ner"]
HEADLINE = {"sentiment": "acc", "emotion": "macro_f1", "topic": "acc", "ner": "f1"}


@pytest.fixture(scope="module")
def token_cache(tmp_path_factory) -> Path:
    """One tokenization cache for the module: each test builds its model fresh, but reads tokens once."""
    return tmp_path_factory.mktemp("tokens")


@pytest.fixture
def build(tmp_path, token_cache):
    def _build(strategy: str, *extra: str):
        cfg = compose_config(
            [*TINY_FAST, f"strategy={strategy}", f"paths.cache_dir={token_cache}", *extra], tmp_path
        )
        return build_data_and_model(cfg)

    return _build


def bare(module_class: type, **kwargs):
    """A strategy on a tiny random BERT without data: for checks that happen before training."""
    from nlp_transfer.models.backbone import random_bert
    from nlp_transfer.models.heads import ClassificationHead

    return module_class(
        encoder=random_bert(), label_names=["a", "b"], head=ClassificationHead, optimizer=torch.optim.AdamW,
        **kwargs,
    )  # fmt: skip


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def changed(module: nn.Module, before: dict[str, torch.Tensor]) -> set[str]:
    return {name for name, p in module.named_parameters() if not torch.equal(p, before[name])}


# ----------------------------------------------------------------------------- end to end
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_trains_and_evaluates_on_every_task(strategy: str, task: str, run_training) -> None:
    record = run_training(f"strategy={strategy}", f"task={task}")
    assert record["status"] == "ok"
    metrics = record["metrics"]
    for split in ("source/val", "source/test", "target/test"):
        value = metrics[f"{split}/{HEADLINE[task]}"]
        assert math.isfinite(value) and 0.0 <= value <= 1.0, f"{split}/{HEADLINE[task]} = {value}"
    assert record["cost"]["train_steps"] > 0


# ----------------------------------------------------------------------------- gradual unfreezing
def expected_groups_top_down(model: nn.Module) -> list[set[str]]:
    """The groups written out by hand for the 2-layer tiny BERT: head, layer 1, layer 0, the rest."""
    names = [n for n, _ in model.named_parameters()]
    head = {n for n in names if n.startswith("head.")}
    layer1 = {n for n in names if n.startswith("encoder.encoder.layer.1.")}
    layer0 = {n for n in names if n.startswith("encoder.encoder.layer.0.")}
    rest = set(names) - head - layer1 - layer0
    assert {n.split(".")[1] for n in rest} == {"embeddings", "pooler"}
    return [head, layer1, layer0, rest]


def trainable(model: nn.Module) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}


def test_gradual_unfreeze_makes_exactly_the_top_groups_trainable_at_each_stage(build) -> None:
    _, model = build("gradual_unfreeze")
    assert isinstance(model, GradualUnfreezeModule)
    groups = expected_groups_top_down(model)
    assert [g.name for g in model.layer_groups] == ["head", "layer_1", "layer_0", "embeddings"]
    assert trainable(model) == groups[0], "training must start with only the head trainable"
    for stage in range(6):
        model.set_stage(stage)
        expected = set().union(*groups[: stage + 1])
        assert trainable(model) == expected, f"stage {stage}"
    assert trainable(model) == {n for n, _ in model.named_parameters()}


def test_gradual_unfreeze_every_step_trains_only_unfrozen_groups(build) -> None:
    datamodule, model = build(
        "gradual_unfreeze", "strategy.unfreeze_every_n_steps=1", "strategy.optimizer.lr=0.01"
    )
    head, layer1, layer0, rest = expected_groups_top_down(model)
    before = snapshot(model)
    fit(model, datamodule, steps=2)  # step 0: head only; step 1: head + last layer
    moved = changed(model, before)
    assert moved & head and moved & layer1
    assert not moved & (layer0 | rest), f"frozen weights moved: {sorted(moved & (layer0 | rest))[:5]}"
    assert model.unfrozen == 2


def unfrozen_at_each_step(model: GradualUnfreezeModule) -> list[int]:
    """Filled during training with the number of trainable groups each training step saw."""
    seen: list[int] = []
    original = model.training_step

    def spy(batch, batch_idx):
        seen.append(model.unfrozen)
        return original(batch, batch_idx)

    model.training_step = spy
    return seen


def test_gradual_unfreeze_per_epoch_and_discriminative_learning_rates(build) -> None:
    # ULMFiT's schedule stays available: no fraction and no step count unfreeze one group per epoch
    datamodule, model = build(
        "gradual_unfreeze",
        "strategy.optimizer.lr=0.026",
        "strategy.unfreeze_fraction=null",
        "strategy.lr_divisor=2.6",
    )
    seen = unfrozen_at_each_step(model)
    trainer = fit(model, datamodule, steps=-1, max_epochs=3, limit_train_batches=2)
    assert seen == [1, 1, 2, 2, 3, 3]
    initial = {(g["name"], g["depth"]): g["initial_lr"] for g in trainer.optimizers[0].param_groups}
    for (name, depth), lr in initial.items():
        assert lr == pytest.approx(0.026 / 2.6**depth), name
    assert {name for name, _ in initial} == {"head", "layer_1", "layer_0", "embeddings"}


def test_gradual_unfreeze_default_trains_every_group_by_half_of_a_two_epoch_run(build) -> None:
    # The benchmark's budget is 2 epochs; one group per epoch left 6 of MiniLM's 8 groups frozen for the
    # whole run (books → kitchen: 0.556 target accuracy). The default unfreezes over the first half:
    # 2 epochs × 6 batches = 12 steps, 4 groups → ⌊0.5 · 12⌋ // 3 = 2 steps per stage.
    datamodule, model = build("gradual_unfreeze")
    seen = unfrozen_at_each_step(model)
    fit(model, datamodule, steps=-1, max_epochs=2, limit_train_batches=6)
    assert seen == [1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 4, 4]


def test_a_step_interval_overrides_the_default_fraction(build) -> None:
    datamodule, model = build("gradual_unfreeze", "strategy.unfreeze_every_n_steps=5")
    seen = unfrozen_at_each_step(model)
    fit(model, datamodule, steps=-1, max_epochs=2, limit_train_batches=6)
    assert seen == [1] * 5 + [2] * 5 + [3] * 2


@pytest.mark.parametrize(
    ("total_steps", "num_groups", "fraction", "expected"),
    [
        (172, 8, 0.5, 12),  # MiniLM at the benchmark budget: ⌊86⌋ // 7; all trainable from step 84
        (172, 8, 1.0, 24),  # ⌊172⌋ // 7
        (12, 4, 0.5, 2),
        (5, 8, 0.5, 1),  # fewer steps than unfreezes: one group per step
        (100, 1, 0.5, 100),  # only a head: nothing to unfreeze
    ],
)
def test_stage_length_splits_the_fraction_over_the_unfreezes(
    total_steps, num_groups, fraction, expected
) -> None:
    assert stage_length(total_steps, num_groups, fraction) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"unfreeze_every_n_steps": 0}, "unfreeze_every_n_steps"),
        ({"unfreeze_fraction": 0.0}, r"unfreeze_fraction must lie in \(0, 1\]"),
        ({"unfreeze_fraction": 1.5}, r"unfreeze_fraction must lie in \(0, 1\]"),
    ],
)
def test_gradual_unfreeze_rejects_a_bad_cadence(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        bare(GradualUnfreezeModule, **kwargs)


# ----------------------------------------------------------------------------- LoRA
def test_lora_trains_adapters_and_head_only_and_round_trips_through_a_checkpoint(build, tmp_path) -> None:
    datamodule, model = build("lora", "strategy.optimizer.lr=0.01")
    assert isinstance(model, LoRAModule)
    assert model.trainable_fraction() < 0.05
    adapters = {n for n, _ in model.named_parameters() if ".lora_" in n}
    head = {n for n, _ in model.named_parameters() if n.startswith("head.")}
    assert adapters and {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in adapters} == {"query", "value"}
    assert trainable(model) == adapters | head
    before = snapshot(model)
    trainer = fit(model, datamodule, steps=3)
    moved = changed(model, before)
    assert moved == adapters | head, f"unexpected: {sorted(moved ^ (adapters | head))[:5]}"

    path = tmp_path / "lora.ckpt"
    trainer.save_checkpoint(path)
    _, fresh = build("lora", "+backbone.encoder.seed=123")
    batch = next(iter(datamodule.val_dataloader()))
    model.eval()
    fresh.eval()
    assert not torch.allclose(model(batch), fresh(batch))
    fresh.load_state_dict(torch.load(path, weights_only=False)["state_dict"])
    assert torch.equal(model(batch), fresh(batch))


def test_lora_names_the_linear_layers_when_target_modules_do_not_match() -> None:
    with pytest.raises(ValueError, match=r"linear layers are named \['dense', 'key', 'query', 'value'\]"):
        bare(LoRAModule, target_modules=["q_lin", "v_lin"])


# ----------------------------------------------------------------------------- UDALM
def test_udalm_ties_its_mlm_decoder_to_the_input_embeddings(build) -> None:
    # (that its training batches carry no target labels is asserted with the other adaptation strategies
    # in test_strategy_contracts.py)
    _, model = build("udalm")
    assert isinstance(model, UDALMModule)
    assert model.mlm_head.decoder.weight is model.encoder.get_input_embeddings().weight


def test_udalm_loss_is_class_loss_plus_weighted_mlm_loss(build) -> None:
    datamodule, model = build("udalm", "strategy.mlm_weight=0.5")
    batch, _, _ = next(iter(datamodule.train_dataloader()))
    model.eval()  # no dropout: the only randomness left is the masking, replayed by the seed
    torch.manual_seed(0)
    total = model.training_step(batch, 0)
    torch.manual_seed(0)
    mlm = model.mlm_loss(batch["target"])
    class_loss = model.supervised_loss(model(batch["source"]), batch["source"]["labels"])
    assert total.item() == pytest.approx(class_loss.item() + 0.5 * mlm.item(), rel=1e-5)
    # a fresh head over 30,522 tokens guesses about uniformly: cross-entropy near ln(vocabulary size)
    assert mlm.item() == pytest.approx(math.log(30522), abs=1.5)


def test_udalm_refuses_a_target_batch_with_labels(minilm_tokenizer) -> None:
    model = bare(UDALMModule, vocabulary=masking_vocabulary(minilm_tokenizer))
    batch = {
        "input_ids": torch.full((2, 5), 2000, dtype=torch.long),
        "attention_mask": torch.ones(2, 5, dtype=torch.long),
        "labels": torch.zeros(2, dtype=torch.long),
    }
    with pytest.raises(TargetLabelLeakError):
        model.training_step({"source": batch, "target": batch}, 0)


def test_udalm_dapt_phase_trains_the_encoder_on_target_text_only(build) -> None:
    datamodule, model = build("udalm", "strategy.dapt_steps=2", "strategy.optimizer.lr=0.01")
    before = snapshot(model)
    fit(model, datamodule, steps=2)
    moved = changed(model, before)
    assert not {n for n in moved if n.startswith("head.")}, "the task head trained during the MLM-only phase"
    assert "encoder.embeddings.word_embeddings.weight" in moved  # through the tied decoder and the inputs
    assert {n for n in moved if n.startswith("mlm_head.")}


def test_udalm_without_vocabulary_says_how_to_build_it() -> None:
    model = bare(UDALMModule)
    batch = {"input_ids": torch.ones(1, 4, dtype=torch.long), "attention_mask": torch.ones(1, 4)}
    with pytest.raises(ValueError, match="masking_vocabulary"):
        model.mlm_loss(batch)
