"""Feature extraction's feature cache: one encoding per dataset, reused across epochs and runs, and
recomputed when anything that changes the features changes; cached and uncached runs agree."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from transformers import BertModel

from nlp_transfer.assembly import build_data_and_model
from nlp_transfer.features.store import FeatureTable
from nlp_transfer.models.backbone import random_bert
from nlp_transfer.strategies.feature_extraction import FeatureExtractionModule
from tests.conftest import TINY_FAST, compose_config

# the label-free validators encode a slice of unlabeled target text of their own at every validation
# (remembered in memory, not on disk); off here, so the counts below are the cache's alone
QUIET = ("selection=none",)


class Counter:
    calls = 0


@contextmanager
def encoder_calls() -> Iterator[Counter]:
    """Count forward calls of every BERT encoder (the tiny backbone) while the block runs."""
    counter = Counter()

    def hook(module, args, output):
        if isinstance(module, BertModel):
            counter.calls += 1

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        yield counter
    finally:
        handle.remove()


def feature_files(cache_dir: Path) -> set[str]:
    return {p.name for p in (cache_dir / "features").glob("*.pt")}


def build(tmp_path: Path, *extra: str):
    cfg = compose_config(
        [*TINY_FAST, "strategy=feature_extraction", f"paths.cache_dir={tmp_path / 'cache'}", *extra], tmp_path
    )
    return build_data_and_model(cfg)


class EpochEnds(pl.Callback):
    """Encoder calls counted so far, at the end of every training epoch."""

    def __init__(self, counter: Counter) -> None:
        self.counter, self.seen = counter, []

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.seen.append(self.counter.calls)


def trainer(epochs: int, *callbacks: pl.Callback) -> pl.Trainer:
    return pl.Trainer(
        max_epochs=epochs,
        limit_train_batches=4,
        limit_val_batches=2,
        num_sanity_val_steps=0,
        callbacks=list(callbacks),
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )


@pytest.mark.parametrize("cache", [True, False])
def test_later_epochs_make_no_encoder_calls_with_the_cache(cache: bool, tmp_path) -> None:
    datamodule, model = build(tmp_path, f"strategy.cache_features={cache}")
    with encoder_calls() as counter:
        ends = EpochEnds(counter)
        trainer(3, ends).fit(model, datamodule=datamodule)
    per_epoch = [ends.seen[0], ends.seen[1] - ends.seen[0], ends.seen[2] - ends.seen[1]]
    if cache:
        # epoch 1: one pass over source train (64 texts = 1 batch of 64) and one over source val
        assert per_epoch == [2, 0, 0]
    else:  # the counter works: without the cache every epoch encodes its 4 train + 2 val batches
        assert per_epoch == [6, 6, 6]


def test_a_second_run_in_the_same_cache_dir_makes_no_encoder_calls(run_training, tmp_path) -> None:
    with encoder_calls() as first:
        record = run_training("strategy=feature_extraction", *QUIET, output_dir=tmp_path / "first")
    files = feature_files(tmp_path / "cache")
    assert first.calls == 4  # source train, source val, source test, target test: one batch each
    assert len(files) == 4

    with encoder_calls() as second:
        again = run_training("strategy=feature_extraction", *QUIET, output_dir=tmp_path / "second")
    assert second.calls == 0
    assert feature_files(tmp_path / "cache") == files
    assert again["metrics"] == pytest.approx(record["metrics"], abs=1e-6)


def calls_to_prepare(tmp_path: Path, stage: str, *overrides: str) -> int:
    """Encoder calls of a fresh module and DataModule (cache in tmp_path/cache) for one validation pass
    (`validate`: source val) or one training step (`fit`: source train)."""
    datamodule, model = build(tmp_path, *QUIET, *overrides)
    run = pl.Trainer(
        max_steps=1, limit_val_batches=1 if stage == "validate" else 0, logger=False, accelerator="cpu",
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    with encoder_calls() as counter:
        run.validate(model, datamodule=datamodule, verbose=False) if stage == "validate" else run.fit(
            model, datamodule=datamodule
        )
    return counter.calls


def test_changed_pooling_or_layers_recompute_and_the_same_settings_reuse(tmp_path) -> None:
    assert calls_to_prepare(tmp_path, "validate") == 1  # 64 validation texts, one encoding batch
    assert calls_to_prepare(tmp_path, "validate") == 0
    assert calls_to_prepare(tmp_path, "validate", "strategy.pooling=cls") == 1
    assert calls_to_prepare(tmp_path, "validate", "strategy.layers=last") == 1
    assert calls_to_prepare(tmp_path, "validate", "strategy.pooling=cls") == 0
    assert calls_to_prepare(tmp_path, "validate", "+backbone.encoder.seed=1") == 1  # other weights
    assert len(feature_files(tmp_path / "cache")) == 4


def test_a_changed_slice_recomputes(tmp_path) -> None:
    assert calls_to_prepare(tmp_path, "fit") == 1
    assert calls_to_prepare(tmp_path, "fit") == 0
    assert calls_to_prepare(tmp_path, "fit", "task.max_train_examples=32") == 1
    assert calls_to_prepare(tmp_path, "fit", "task.max_length=32") == 1  # other token ids
    assert len(feature_files(tmp_path / "cache")) == 3


def copy_slice(source: Path, target: Path, lines: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(source.read_text().splitlines(keepends=True)[:lines]))


def test_a_changed_data_file_recomputes(data_dir: Path, tmp_path) -> None:
    small = tmp_path / "data"
    for domain in ("books", "kitchen"):
        for split in ("train", "validation", "test"):
            copy_slice(
                data_dir / "sentiment" / domain / f"{split}.jsonl",
                small / "sentiment" / domain / f"{split}.jsonl",
                24,
            )
    assert calls_to_prepare(tmp_path, "fit", f"paths.data_dir={small}") == 1
    assert calls_to_prepare(tmp_path, "fit", f"paths.data_dir={small}") == 0

    train_file = small / "sentiment" / "books" / "train.jsonl"
    rows = [json.loads(line) for line in train_file.read_text().splitlines()]
    rows[0]["text"] = "A new first review, so the file's checksum and its token ids change."
    train_file.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert calls_to_prepare(tmp_path, "fit", f"paths.data_dir={small}") == 1
    assert len(feature_files(tmp_path / "cache")) == 2


@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_cached_and_uncached_runs_give_the_same_features_and_metrics(
    task: str, run_training, tmp_path
) -> None:
    cached = run_training(
        "strategy=feature_extraction", *QUIET, f"task={task}", output_dir=tmp_path / "cached"
    )
    uncached = run_training(
        "strategy=feature_extraction", *QUIET, f"task={task}", "strategy.cache_features=false",
        output_dir=tmp_path / "uncached",
    )  # fmt: skip
    assert set(cached["metrics"]) == set(uncached["metrics"])
    assert cached["metrics"] == pytest.approx(uncached["metrics"], abs=1e-4)

    datamodule, model = build(tmp_path, f"task={task}")
    compared: list[int] = []
    original = model.validation_step

    def spy(batch, batch_idx):  # the features the module's step reads: from the store, no encoder call
        with encoder_calls() as counter:
            stored = model.features(batch)
        assert counter.calls == 0
        with torch.no_grad():
            fresh = model.encode(batch)
        assert stored.shape == fresh.shape
        real = batch["attention_mask"].bool() if fresh.dim() == 3 else slice(None)
        torch.testing.assert_close(stored[real], fresh[real], atol=1e-5, rtol=1e-4)
        compared.append(len(fresh))
        return original(batch, batch_idx)

    model.validation_step = spy
    pl.Trainer(limit_val_batches=2, logger=False, enable_progress_bar=False).validate(
        model, datamodule=datamodule, verbose=False
    )
    assert sum(compared) == 64  # 2 batches of 32 (debug=smoke) checked
    assert (model.level == "token") == (task == "ner")


def test_mean_of_last_k_layers_is_the_mean_of_those_hidden_states(tmp_path) -> None:
    datamodule, model = build(tmp_path, "strategy.layers=mean_last_k", "strategy.num_layers=2")
    batch = next(iter(datamodule.val_dataloader()))
    with torch.no_grad():
        hidden = model.encoder(
            **{k: batch[k] for k in ("input_ids", "attention_mask")}, output_hidden_states=True
        )
        expected_tokens = (hidden.hidden_states[1] + hidden.hidden_states[2]) / 2
        mask = batch["attention_mask"].unsqueeze(-1).float()
        expected = (expected_tokens * mask).sum(1) / mask.sum(1)
        torch.testing.assert_close(model.encode(batch), expected)
        last = model.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        assert not torch.allclose(model.encode(batch), (last.last_hidden_state * mask).sum(1) / mask.sum(1))
    assert model.feature_signature() != build(tmp_path, "strategy.layers=last")[1].feature_signature()


def test_more_layers_than_the_encoder_has_fails_early_with_the_fix() -> None:
    from functools import partial

    from nlp_transfer.models.heads import ClassificationHead

    with pytest.raises(ValueError, match=r"num_layers=4 but the encoder has 2 layers.*strategy.num_layers"):
        FeatureExtractionModule(
            encoder=random_bert(), label_names=["a", "b"], head=ClassificationHead,
            optimizer=partial(torch.optim.AdamW), layers="mean_last_k", num_layers=4,
        )  # fmt: skip


def test_a_truncated_cache_file_is_recomputed_not_trusted(tmp_path) -> None:
    table = FeatureTable.from_examples([torch.ones(1, 4), torch.zeros(1, 4)], token_level=False)
    path = tmp_path / "features" / "key.pt"
    table.save(path, {"examples": 2})
    assert [p.name for p in path.parent.iterdir()] == ["key.pt"]  # the temp file was renamed, not left
    loaded = FeatureTable.load(path, examples=2)
    assert loaded is not None and torch.equal(loaded.rows, table.rows)
    assert FeatureTable.load(path, examples=3) is None  # a table of another dataset size
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert FeatureTable.load(path, examples=2) is None
