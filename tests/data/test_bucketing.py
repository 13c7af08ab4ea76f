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
