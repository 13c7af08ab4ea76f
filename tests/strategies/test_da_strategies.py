"""The domain-adaptation family beside DANN (CDAN, MMD, CORAL, MCC, BNM, self-training): whole runs on
every task, no target labels in training, the shared loss/logging contract, and token-level rows for NER."""

from __future__ import annotations

import csv
import json
import math

import pytest
import pytorch_lightning as pl
import torch

from nlp_transfer.adaptation.bnm import BatchNuclearNormLoss
from nlp_transfer.adaptation.mcc import MinimumClassConfusionLoss
from nlp_transfer.assembly import build_data_and_model
from nlp_transfer.strategies.bnm import BNMModule
from nlp_transfer.strategies.cdan import CDANModule
from nlp_transfer.strategies.coral import CORALModule
from nlp_transfer.strategies.dann import DANNModule, TargetLabelLeakError
from nlp_transfer.strategies.domain_adaptation import DomainAdaptationModule, DomainRows
from nlp_transfer.strategies.mcc import MCCModule
from nlp_transfer.strategies.mmd import MMDModule
from nlp_transfer.strategies.self_training import SelfTrainingModule
from tests.conftest import TINY_FAST, compose_config

DA_STRATEGIES = {
    "cdan": CDANModule, "mmd": MMDModule, "coral": CORALModule, "mcc": MCCModule, "bnm": BNMModule,
    "self_training": SelfTrainingModule,
}  # fmt: skip
HEADLINE = {"sentiment": "target/test/acc", "emotion": "target/test/macro_f1", "topic": "target/test/acc"}


def build(strategy: str, tmp_path, *extra: str):
    cfg = compose_config(
        [*TINY_FAST, f"strategy={strategy}", f"paths.cache_dir={tmp_path}", *extra], tmp_path
    )
    return build_data_and_model(cfg)


def fit(model: pl.LightningModule, datamodule, steps: int) -> None:
    pl.Trainer(
        max_steps=steps, limit_val_batches=0, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
    ).fit(model, datamodule=datamodule)  # fmt: skip


@pytest.mark.parametrize("task", ["sentiment", "emotion", "topic", "ner"])
@pytest.mark.parametrize("strategy", sorted(DA_STRATEGIES))
def test_each_da_strategy_trains_and_records_finite_metrics(strategy: str, task: str, run_training) -> None:
    record = run_training(f"strategy={strategy}", f"task={task}")  # debug=smoke: logger none
    on_disk = json.loads((record["output_dir"] / "results.json").read_text())
    assert on_disk["status"] == "ok"
    assert on_disk["config"]["strategy"] == strategy
    assert not (record["output_dir"] / "wandb").exists() and not (record["output_dir"] / "csv").exists()
    metrics = on_disk["metrics"]
    headline = "target/test/f1" if task == "ner" else HEADLINE[task]
    chosen_on = on_disk["selection"]["checkpoint_metric"]
    assert {headline, chosen_on, "source/test/loss", "target/test/loss"} <= set(metrics)
    assert all(math.isfinite(value) for value in metrics.values())
    assert 0.0 <= metrics[headline] <= 1.0
    assert on_disk["cost"]["train_steps"] == 4


def model_only(
    strategy: str, tmp_path, *extra: str, level: str = "sequence", labels: int = 2
) -> DomainAdaptationModule:
    """The strategy on a tiny random encoder, without reading any data (for checks that need no batch)."""
    from hydra.utils import instantiate

    from nlp_transfer.models.backbone import random_bert
    from nlp_transfer.strategy_declaration import constructor_config

    cfg = compose_config([f"strategy={strategy}", *extra], tmp_path)
    encoder = random_bert(hidden_size=16, intermediate_size=32)
    node = constructor_config(cfg.strategy)  # without the yaml's uses_target_data declaration
    names = [f"c{i}" for i in range(labels)]
    return instantiate(node, encoder=encoder, label_names=names, level=level, _convert_="all")


def hand_ner_batch(labeled: bool, seed: int) -> dict[str, torch.Tensor]:
    """[CLS] w0 w1a w1b w2 [SEP] pad pad | [CLS] w0a w0b w0c w1 w2 w3 [SEP]: 7 words in 14 real tokens,
    the word starts from the tokenizer's alignment; labels (3 tags) on the word starts only, if `labeled`."""
    mask = torch.tensor([[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1]])
    starts = torch.tensor([[0, 1, 1, 0, 1, 0, 0, 0], [0, 1, 0, 0, 1, 1, 1, 0]], dtype=torch.bool)
    generator = torch.Generator().manual_seed(seed)
    batch = {"input_ids": torch.randint(1, 1000, mask.shape, generator=generator), "attention_mask": mask}
    batch["word_starts"] = starts
    if labeled:
        tags = torch.randint(0, 3, mask.shape, generator=generator)
        batch["labels"] = torch.where(starts, tags, torch.full_like(tags, -100))
    return batch


@pytest.mark.parametrize("strategy", sorted(DA_STRATEGIES))
def test_a_target_batch_with_labels_is_refused(strategy: str, tmp_path) -> None:
    model = model_only(strategy, tmp_path)
    batch = {
        "input_ids": torch.ones(2, 5, dtype=torch.long),
        "attention_mask": torch.ones(2, 5, dtype=torch.long),
        "labels": torch.zeros(2, dtype=torch.long),
    }
    with pytest.raises(TargetLabelLeakError, match=DA_STRATEGIES[strategy].__name__):
        model.training_step({"source": batch, "target": batch}, 0)


def test_dann_is_a_domain_adaptation_module_and_keeps_its_import_path() -> None:
    from nlp_transfer.strategies import domain_adaptation

    assert issubclass(DANNModule, DomainAdaptationModule)
    assert TargetLabelLeakError is domain_adaptation.TargetLabelLeakError


def test_domain_loss_is_weighted_by_the_warmup_and_logged(run_training) -> None:
    record = run_training("strategy=mmd", "logger=csv", "trainer.limit_train_batches=6")
    with (record["output_dir"] / "csv" / "metrics.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("train/domain_weight")]
    weights = [float(r["train/domain_weight"]) for r in rows]
    assert len(weights) == 6 and weights[0] == 0.0 and weights == sorted(weights) and weights[-1] > 0.9
    for r in rows:  # loss = class_loss + w(p) · domain_loss, as logged
        expected = float(r["train/class_loss"]) + float(r["train/domain_weight"]) * float(
            r["train/domain_loss"]
        )
        assert float(r["train/loss"]) == pytest.approx(expected, rel=1e-5)


def test_token_rows_are_real_tokens_subsampled_to_the_maximum(tmp_path) -> None:
    datamodule, model = build("coral", tmp_path, "task=ner", "strategy.max_domain_rows=40")
    datamodule.setup()
    batch, _, _ = next(iter(datamodule.train_dataloader()))
    source = batch["source"]
    features = model.features(source)
    logits = model.head(features)
    real_tokens = int(source["attention_mask"].sum())
    assert real_tokens > 40
    rows, row_logits = model.domain_rows(features, logits, source)
    assert rows.shape == (40, features.shape[-1]) and row_logits.shape == (40, len(model.label_names))
    real_rows = features[source["attention_mask"].bool()]
    matches = (rows[:, None, :] == real_rows[None, :, :]).all(-1)  # every kept row is one real token's
    assert matches.any(1).all()
    index = matches.float().argmax(1)
    assert torch.equal(row_logits, logits[source["attention_mask"].bool()][index])  # logits follow their rows
    model.max_domain_rows = None
    assert len(model.domain_rows(features, logits, source)[0]) == real_tokens


def test_cdan_on_ner_trains_its_discriminator_on_real_batches(tmp_path) -> None:
    datamodule, model = build("cdan", tmp_path, "task=ner")
    datamodule.setup()
    batch, _, _ = next(iter(datamodule.train_dataloader()))
    hidden, classes = model.encoder.config.hidden_size, len(model.label_names)
    assert model.conditional_adversarial.feature_map.out_dim == hidden * classes  # 32·9 ≤ 4096: full map
    loss = model.training_step(batch, 0)
    assert torch.isfinite(loss)
    loss.backward()
    assert model.conditional_adversarial.discriminator.net[0].weight.grad.abs().sum() > 0


def test_cdan_on_ner_conditions_each_word_on_its_own_softmax_with_its_features(tmp_path) -> None:
    """f ⊗ g of words only (each word's first sub-token), features and predictions of the same rows, both
    domains. Changed from every real token: the old rows (14 per batch here) give another loss."""
    model = model_only("cdan", tmp_path, level="token", labels=3).eval()  # eval: no dropout
    source, target = hand_ner_batch(labeled=True, seed=1), hand_ner_batch(labeled=False, seed=2)
    seen: list[DomainRows] = []
    original = model.domain_loss
    model.domain_loss = lambda rows: (seen.append(rows), original(rows))[1]
    loss = model.training_step({"source": source, "target": target}, 0)
    (rows,) = seen
    with torch.no_grad():
        s_features, t_features = model.features(source), model.features(target)
        s_logits, t_logits = model.head(s_features), model.head(t_features)
    s_words, t_words = source["word_starts"], target["word_starts"]
    assert torch.allclose(rows.source_features, s_features[s_words]) and len(rows.target_features) == 7
    assert torch.allclose(rows.target_features, t_features[t_words])
    assert torch.allclose(rows.target_logits, t_logits[t_words])
    adversarial = model.conditional_adversarial
    with torch.no_grad():
        by_hand, _ = adversarial(
            s_features[s_words], t_features[t_words], s_logits[s_words], t_logits[t_words]
        )
        s_real, t_real = source["attention_mask"].bool(), target["attention_mask"].bool()
        old_rows, _ = adversarial(s_features[s_real], t_features[t_real], s_logits[s_real], t_logits[t_real])
    class_loss = model.supervised_loss(s_logits, source["labels"])
    assert float(loss.detach()) == pytest.approx(
        float(class_loss + model.domain_weight() * by_hand), rel=1e-5
    )
    assert float(by_hand) != pytest.approx(float(old_rows), rel=1e-4)  # the test tells the two row sets apart


@pytest.mark.parametrize(
    ("strategy", "loss"),
    [("mcc", MinimumClassConfusionLoss(temperature=2.5)), ("bnm", BatchNuclearNormLoss())],
)
def test_prediction_losses_on_ner_read_the_target_words_logits_only(strategy, loss, tmp_path) -> None:
    """MCC and BNM read the target's word rows (first sub-tokens: 7 of 14 real tokens, by hand), never
    sub-word pieces, [CLS]/[SEP] or padding. Changed from every real token's logits."""
    model = model_only(strategy, tmp_path, level="token", labels=3)
    target = hand_ner_batch(labeled=False, seed=2)
    logits = model.head(model.features(target))
    words = [(0, 1), (0, 2), (0, 4), (1, 1), (1, 4), (1, 5), (1, 6)]
    by_hand = logits[torch.tensor([w[0] for w in words]), torch.tensor([w[1] for w in words])]
    source_rows = torch.randn(3, 4)  # anything: these losses read no source row and no feature
    _, target_logits = model.domain_rows(torch.zeros(*logits.shape[:2], 4), logits, target)
    assert torch.equal(target_logits, by_hand)
    rows = DomainRows(source_rows, source_rows, source_rows, target_logits, target, target)
    domain_loss, _ = model.domain_loss(rows)
    assert domain_loss.item() == pytest.approx(loss(by_hand).item(), rel=1e-6)
    every_real_token = loss(logits[target["attention_mask"].bool()]).item()
    assert domain_loss.item() != pytest.approx(every_real_token, rel=1e-4)  # the old rows give another value
    domain_loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.head.parameters())


def test_prediction_objectives_read_words_and_feature_alignment_every_real_token() -> None:
    word_rows = {name: module.word_rows for name, module in DA_STRATEGIES.items()} | {
        "dann": DANNModule.word_rows
    }
    expected = {"cdan": True, "mcc": True, "bnm": True, "self_training": True}
    assert word_rows == {**{"mmd": False, "coral": False, "dann": False}, **expected}


@pytest.mark.parametrize("strategy", ["mcc", "bnm", "cdan"])
def test_prediction_objectives_at_sequence_level_are_unchanged_by_word_rows(strategy: str, tmp_path) -> None:
    """Sequence level, bit for bit: rows are the texts' pooled features and logits, the same with or
    without `word_starts` in the batch and with the flag off (the rows every strategy used before)."""
    model = model_only(strategy, tmp_path).eval()
    source = {
        "input_ids": torch.randint(1, 1000, (3, 6)),
        "attention_mask": torch.ones(3, 6, dtype=torch.long),
    }
    source["labels"] = torch.tensor([0, 1, 1])
    target = {
        "input_ids": torch.randint(1, 1000, (3, 6)),
        "attention_mask": torch.ones(3, 6, dtype=torch.long),
    }
    starts = torch.tensor([[0, 1, 0, 1, 1, 0]] * 3, dtype=torch.bool)
    with torch.no_grad():
        features = model.features(target)
        logits = model.head(features)
        rows = model.domain_rows(features, logits, {**target, "word_starts": starts})
        assert torch.equal(rows[0], features) and torch.equal(rows[1], logits)
        losses = []
        for word_rows, extra in [(True, {}), (True, {"word_starts": starts}), (False, {})]:
            model.word_rows = word_rows
            batch = {"source": {**source, **extra}, "target": {**target, **extra}}
            losses.append(model.training_step(batch, 0))
    assert torch.equal(losses[0], losses[1]) and torch.equal(losses[0], losses[2])


@pytest.mark.parametrize(
    ("override", "message"),
    [("strategy.warmup=cosine", "warmup must be one of"), ("strategy.max_domain_rows=0", "max_domain_rows")],
)
def test_bad_settings_fail_when_the_model_is_built(override: str, message: str, tmp_path) -> None:
    with pytest.raises(Exception, match=message):
        model_only("coral", tmp_path, override)
