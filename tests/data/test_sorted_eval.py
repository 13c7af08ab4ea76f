"""Length-sorted evaluation: batches longest first, every example once (also per DDP rank), and a run's
prediction files and metrics identical to file-order evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from pytorch_lightning.trainer.states import RunningStage
from pytorch_lightning.utilities.data import _update_dataloader
from torch.utils.data import BatchSampler, DistributedSampler, SequentialSampler

from nlp_transfer.data.bucketing import LengthSortedBatchSampler
from nlp_transfer.results.predictions import prediction_path, read_predictions
from tests.conftest import TINY_FAST, compose_config

LENGTHS = [5, 9, 2, 9, 7, 1, 9, 3, 6, 4, 8]


def test_batches_are_sorted_longest_first_and_hold_every_index_once() -> None:
    batches = list(LengthSortedBatchSampler(SequentialSampler(LENGTHS), LENGTHS, batch_size=4))
    assert batches == [[1, 3, 6, 10], [4, 8, 0, 9], [7, 2, 5]]  # equal lengths keep file order
    assert len(LengthSortedBatchSampler(SequentialSampler(LENGTHS), LENGTHS, batch_size=4)) == 3
    assert list(LengthSortedBatchSampler([], [], batch_size=4)) == []


@pytest.mark.parametrize("limit", [2, 0.7])  # 0.7 × 3 batches: Lightning reads int(2.1) = 2
def test_a_limited_evaluation_reads_the_examples_file_order_reads(limit: int | float) -> None:
    """limit_{val,test}_batches=2 reads the first 8 examples in file order: sorted, the same 8 come first."""
    batches = list(LengthSortedBatchSampler(SequentialSampler(LENGTHS), LENGTHS, 4, limit_batches=limit))
    assert sorted(batches[0] + batches[1]) == list(range(8))
    assert batches == [[1, 3, 6, 4], [0, 7, 2, 5], [10, 8, 9]]


def test_only_the_indices_of_its_sampler_are_sorted() -> None:
    """Under DDP the sampler is a rank's shard: the batch sampler sorts that shard and nothing else."""
    shard = [0, 2, 4, 6, 8, 10]
    batches = list(LengthSortedBatchSampler(shard, LENGTHS, batch_size=4))
    assert batches == [[6, 10, 4, 8], [0, 2]]


def _datamodule(tmp_path: Path, *overrides: str):
    from nlp_transfer.assembly import instantiate

    cfg = compose_config([*TINY_FAST, f"paths.cache_dir={tmp_path}", *overrides])
    tokenizer = instantiate(cfg.backbone.tokenizer)
    datamodule = instantiate(cfg.task, tokenizer=tokenizer)
    datamodule.setup("fit")
    return datamodule


def _lengths_of(batch: dict) -> list[int]:
    return batch["attention_mask"].sum(dim=1).tolist()


def test_evaluation_loaders_sort_by_length_unless_switched_off(tmp_path: Path) -> None:
    datamodule = _datamodule(tmp_path, "task.eval_batch_size=16")
    for loader in [datamodule.val_dataloader(), *datamodule.test_dataloader()]:
        lengths = [n for batch in loader for n in _lengths_of(batch)]
        assert lengths == sorted(lengths, reverse=True) and len(lengths) == len(loader.dataset) == 64
        # padding is at most the gap to the batch's own longest text
        first = next(iter(loader))
        assert first["input_ids"].shape[1] == max(_lengths_of(first)) == max(lengths)
    file_order = _datamodule(tmp_path, "task.eval_batch_size=16", "task.sort_eval_by_length=false")
    loader = file_order.test_dataloader()[1]
    assert isinstance(loader.batch_sampler, BatchSampler) and isinstance(loader.sampler, SequentialSampler)
    assert [i for batch in loader.batch_sampler for i in batch] == list(range(64))


def test_lightning_shards_a_sorted_loader_across_ranks(tmp_path: Path) -> None:
    """What Lightning does under DDP (use_distributed_sampler): it rebuilds the loader with a
    DistributedSampler inside our batch sampler. Each rank sorts its shard; together they cover the split."""
    from lightning_fabric.utilities.data import _replace_dunder_methods

    datamodule = _datamodule(tmp_path, "task.eval_batch_size=16", "task.max_eval_examples=61")
    with _replace_dunder_methods(BatchSampler):  # as Lightning calls the `*_dataloader` hooks
        loader = datamodule.test_dataloader()[0]
    lengths = torch.as_tensor(loader.dataset.tokens.lengths())
    covered: list[int] = []
    for rank in range(2):
        shard = DistributedSampler(loader.dataset, num_replicas=2, rank=rank, shuffle=False)
        sharded = _update_dataloader(loader, shard, mode=RunningStage.TESTING)
        assert isinstance(sharded.batch_sampler, LengthSortedBatchSampler)
        order = [i for batch in sharded.batch_sampler for i in batch]
        assert sorted(order) == sorted(shard) and len(order) == 31  # 61 over 2 ranks: one repeat
        assert lengths[order].tolist() == sorted(lengths[order].tolist(), reverse=True)
        covered += order
    assert set(covered) == set(range(61))


@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_sorted_and_file_order_evaluation_give_identical_predictions_and_metrics(
    run_training, tmp_path: Path, task: str
) -> None:
    """fp32 (the conftest pins it): sorting changes padding and batch composition, not a number."""
    all_tested = "trainer.limit_test_batches=null"
    full = ["task.max_eval_examples=null", all_tested, "trainer.limit_val_batches=null"]
    if task == "ner":  # 120 sentences per split, all tested; validation reads 2 of its 4 batches (smoke)
        full = ["task=ner", "domain.target=ai", "task.max_eval_examples=120", all_tested]
    runs = {
        sort: run_training(*full, f"task.sort_eval_by_length={sort}", output_dir=tmp_path / f"sorted_{sort}")
        for sort in (True, False)
    }
    sorted_run, file_order = runs[True], runs[False]
    assert sorted_run["metrics"].keys() == file_order["metrics"].keys()
    for name, value in file_order["metrics"].items():
        assert sorted_run["metrics"][name] == pytest.approx(value, abs=1e-5), name
    source, target = sorted_run["config"]["source"], sorted_run["config"]["target"]
    for domain in (source, target):
        ours, theirs = (read_predictions(prediction_path(run["output_dir"], domain)) for run in runs.values())
        assert np.array_equal(ours.index, np.arange(ours.file_examples)) and ours.same_examples(theirs)
        assert np.array_equal(ours.gold, theirs.gold) and np.array_equal(ours.pred, theirs.pred)
        if ours.probs is not None:  # float16 on disk: one rounding step apart at most
            assert np.allclose(ours.probs.astype(np.float32), theirs.probs.astype(np.float32), atol=1e-3)
