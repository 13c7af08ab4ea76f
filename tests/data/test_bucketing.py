"""The length-grouped sampler: every example once per epoch, new random batches each epoch and seed."""

import pytest
import torch

from nlp_transfer.data.bucketing import LengthGroupedBatchSampler


def test_every_index_once_per_epoch_and_batches_are_length_homogeneous() -> None:
    torch.manual_seed(0)
    lengths = torch.randint(5, 500, (1000,)).tolist()
    sampler = LengthGroupedBatchSampler(lengths, batch_size=16, pool_batches=10, seed=3)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 63
    assert sorted(i for b in batches for i in b) == list(range(1000))

    # padding waste: grouped batches pad far less than random batches of the same size
    def waste(groups):
        return sum(max(lengths[i] for i in g) * len(g) - sum(lengths[i] for i in g) for g in groups)

    order = torch.randperm(1000, generator=torch.Generator().manual_seed(3)).tolist()
    random_batches = [order[i : i + 16] for i in range(0, 1000, 16)]
    assert waste(batches) < 0.2 * waste(random_batches)


def test_order_is_reproducible_and_changes_between_epochs() -> None:
    lengths = list(range(100))
    first, second = (
        LengthGroupedBatchSampler(lengths, 8, seed=1),
        LengthGroupedBatchSampler(lengths, 8, seed=1),
    )
    epoch_one = list(first)
    assert epoch_one == list(second)
    assert list(first) != epoch_one  # next epoch, new order


def _lengths(n: int, seed: int = 0) -> list[int]:
    return torch.randint(1, 300, (n,), generator=torch.Generator().manual_seed(seed)).tolist()


def _as_sets(batches: list[list[int]]) -> set[frozenset[int]]:
    return {frozenset(batch) for batch in batches}


@pytest.mark.parametrize("seed", [0, 7])
def test_every_example_exactly_once_in_each_of_several_epochs(seed: int) -> None:
    size = 203  # not a multiple of the batch size: the short batch must still hold the remainder
    sampler = LengthGroupedBatchSampler(_lengths(size), batch_size=16, pool_batches=4, seed=seed)
    epochs = [list(sampler) for _ in range(4)]
    for batches in epochs:
        flat = [index for batch in batches for index in batch]
        assert len(flat) == size and sorted(flat) == list(range(size))  # each exactly once
        assert len(batches) == len(sampler) and all(1 <= len(batch) <= 16 for batch in batches)
    # new batches (not just a new order of the same batches) every epoch
    assert len({frozenset(_as_sets(batches)) for batches in epochs}) == 4


def test_different_seeds_give_different_batches_in_every_epoch() -> None:
    lengths = _lengths(203)
    one, two = (LengthGroupedBatchSampler(lengths, 16, pool_batches=4, seed=s) for s in (1, 2))
    for _ in range(3):
        assert _as_sets(list(one)) != _as_sets(list(two))


def test_the_training_loader_takes_its_seed_from_seed_everything(tmp_path, minilm_tokenizer) -> None:
    import pytorch_lightning as pl

    from nlp_transfer.assembly import instantiate
    from tests.conftest import TINY_FAST, compose_config

    cfg = compose_config([*TINY_FAST, f"paths.cache_dir={tmp_path}"], tmp_path)
    datamodule = instantiate(cfg.task, tokenizer=minilm_tokenizer)
    datamodule.setup("fit")

    def first_epoch(seed: int) -> list[list[int]]:
        pl.seed_everything(seed)
        return list(datamodule.train_dataloader().iterables["source"].batch_sampler)

    assert isinstance(
        datamodule.train_dataloader().iterables["source"].batch_sampler, LengthGroupedBatchSampler
    )
    assert first_epoch(5) == first_epoch(5)  # a run is reproducible from its seed
    assert _as_sets(first_epoch(5)) != _as_sets(first_epoch(6))  # and another seed draws other batches
