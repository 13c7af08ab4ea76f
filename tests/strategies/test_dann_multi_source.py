"""Multi-source runs: `domain.source=[books,dvd,electronics]` end to end for fine_tune and
dann_multi_source, token rows that keep their sentence's source index, and refused target labels."""

from __future__ import annotations

import json
import math

import pytest
import torch

from nlp_transfer.assembly import build_data_and_model
from nlp_transfer.strategies.dann_multi_source import DANNMultiSourceModule
from nlp_transfer.strategies.domain_adaptation import TargetLabelLeakError
from tests.conftest import TINY_FAST, compose_config, fit_quietly
from tests.strategies.test_strategy_contracts import STRATEGY_CONFIGS

THREE_SOURCES = ["domain.source=[books,dvd,electronics]", "domain.target=kitchen"]


@pytest.mark.parametrize("strategy", ["fine_tune", "dann_multi_source"])
def test_three_sources_to_kitchen_run_end_to_end(strategy: str, run_training) -> None:
    record = run_training(f"strategy={strategy}", *THREE_SOURCES)
    on_disk = json.loads((record["output_dir"] / "results.json").read_text())
    assert on_disk["status"] == "ok"
    assert on_disk["config"]["source"] == "books+dvd+electronics" and on_disk["config"]["target"] == "kitchen"
    assert on_disk["config"]["resolved"]["task"]["source"] == ["books", "dvd", "electronics"]
    metrics = on_disk["metrics"]
    assert {"source/val/acc", "source/test/acc", "target/test/acc"} <= set(metrics)
    assert all(math.isfinite(value) for value in metrics.values())
    names = {path.name for path in (record["output_dir"] / "predictions").iterdir()}
    assert any(name.startswith("books+dvd+electronics") for name in names)  # the pooled source test
    if strategy == "dann_multi_source":
        assert on_disk["config"]["resolved"]["strategy"]["num_sources"] == 3


def test_token_rows_keep_their_sentences_source_index(tmp_path) -> None:
    overrides = [
        "task=ner",
        "domain.source=[news,music]",
        "domain.target=politics",
        "strategy.max_domain_rows=30",
    ]
    cfg = compose_config(
        [*TINY_FAST, "strategy=dann_multi_source", f"paths.cache_dir={tmp_path}", *overrides]
    )
    datamodule, model = build_data_and_model(cfg)
    datamodule.setup()
    batch, _, _ = next(iter(datamodule.train_dataloader()))
    source = batch["source"]
    features = model.features(source)
    rows, _, origin = model.domain_rows(features, model.head(features), source)
    mask = source["attention_mask"].bool()
    assert len(rows) == 30 < int(mask.sum())
    real_rows = features[mask]
    per_token_origin = source["source_index"][:, None].expand_as(mask)[mask]
    index = (rows[:, None, :] == real_rows[None, :, :]).all(-1).float().argmax(1)  # which real token each is
    assert torch.equal(origin, per_token_origin[index])
    assert set(origin.tolist()) <= {0, 1}


def test_a_target_batch_with_labels_is_refused(tmp_path) -> None:
    cfg = compose_config(
        [*TINY_FAST, "strategy=dann_multi_source", f"paths.cache_dir={tmp_path}", *THREE_SOURCES]
    )
    _, model = build_data_and_model(cfg)
    assert isinstance(model, DANNMultiSourceModule) and model.num_sources == 3
    batch = {
        "input_ids": torch.ones(3, 5, dtype=torch.long),
        "attention_mask": torch.ones(3, 5, dtype=torch.long),
        "labels": torch.zeros(3, dtype=torch.long),
        "source_index": torch.tensor([0, 1, 2]),
    }
    with pytest.raises(TargetLabelLeakError, match="DANNMultiSourceModule"):
        model.training_step({"source": batch, "target": batch}, 0)


@pytest.mark.slow  # one build and two steps per strategy
@pytest.mark.parametrize("strategy", STRATEGY_CONFIGS)
def test_every_strategy_trains_on_pooled_sources(strategy: str, tmp_path) -> None:
    cfg = compose_config([*TINY_FAST, f"strategy={strategy}", f"paths.cache_dir={tmp_path}", *THREE_SOURCES])
    datamodule, model = build_data_and_model(cfg)
    assert datamodule.sources == ["books", "dvd", "electronics"]
    trainer = fit_quietly(model, datamodule, steps=2)
    assert trainer.global_step == 2 and torch.isfinite(trainer.callback_metrics["train/loss"])
