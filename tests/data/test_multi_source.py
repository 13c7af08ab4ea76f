"""Several source domains (`domain.source=[a,b,c]`): balanced batches, pooled splits, early errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from nlp_transfer.data.balanced_sources import BalancedSourceBatchSampler
from nlp_transfer.data.errors import DataError
from nlp_transfer.source_domains import SourceDomainsError, checked_sources, source_list, source_name
from tests.data.test_classification_datamodule import LABELS, make_dm, write_domain

DOMAINS = ["alpha", "beta", "gamma", "delta"]


def counts_per_batch(sampler: BalancedSourceBatchSampler) -> list[list[int]]:
    """For each batch of one pass, how many of its indices come from each source."""
    result = []
    for batch in sampler:
        counts = Counter(sampler.source_of(i) for i in batch)
        result.append([counts.get(s, 0) for s in range(sampler.num_sources)])
    return result


def test_every_batch_holds_an_equal_share_of_each_source() -> None:
    # sources of 30, 7 and 12 texts; 12 per batch = 4 of each; a pass covers the largest: ceil(3*30/12) = 8
    sampler = BalancedSourceBatchSampler([[5] * 30, [3] * 7, [9] * 12], batch_size=12, seed=0)
    counts = counts_per_batch(sampler)
    assert len(counts) == len(sampler) == 8
    assert counts == [[4, 4, 4]] * 8
    seen = {i for batch in sampler for i in batch}
    assert set(range(30)) <= seen  # the largest source is seen whole in one pass
    assert set(range(30, 49)) <= seen  # the smaller ones cycle


def test_leftover_slots_rotate_so_shares_differ_by_at_most_one() -> None:
    # 16 per batch over 3 sources: 5 each + 1 slot that goes round; over 3 batches every source gets 16
    sampler = BalancedSourceBatchSampler([[4] * 40, [4] * 40, [4] * 40], batch_size=16, seed=1)
    assert [sampler.shares(j) for j in range(3)] == [[6, 5, 5], [5, 6, 5], [5, 5, 6]]
    counts = counts_per_batch(sampler)
    assert all(sum(row) == 16 and max(row) - min(row) <= 1 for row in counts)
    assert [sum(col) for col in zip(*counts, strict=True)] == [
        sum(sampler.shares(j)[s] for j in range(8)) for s in range(3)
    ]


def test_the_order_depends_on_seed_and_epoch_only_and_resumes_by_index() -> None:
    lengths = [[1, 2, 3, 4, 5, 6], [7, 8, 9]]
    first = list(BalancedSourceBatchSampler(lengths, 4, seed=3, epoch=2))
    assert first == list(BalancedSourceBatchSampler(lengths, 4, seed=3, epoch=2))
    assert first != list(BalancedSourceBatchSampler(lengths, 4, seed=3, epoch=3))
    resumed = BalancedSourceBatchSampler(lengths, 4, seed=3, epoch=2)
    resumed.sampler.resume_at(0, 1)
    assert list(resumed) == first[1:]


def test_a_batch_smaller_than_the_number_of_sources_is_refused() -> None:
    with pytest.raises(ValueError, match=r"task.batch_size=3 or more"):
        BalancedSourceBatchSampler([[1], [1], [1]], batch_size=2)


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        ([], "delta", "is empty"),
        (["alpha", "beta", "alpha"], "delta", r"\['alpha'\] more than once"),
        (["alpha", "beta", "delta"], "delta", r"also one of the sources.*domain.source=\[alpha,beta\]"),
    ],
)
def test_bad_source_lists_fail_naming_the_fix(source, target, message) -> None:
    with pytest.raises(SourceDomainsError, match=message):
        checked_sources(source, target)


def test_source_names_join_with_plus_and_read_back() -> None:
    assert source_name(["books", "dvd", "electronics"]) == "books+dvd+electronics"
    assert source_name("books") == "books" == source_name(["books"])
    assert source_list("books+dvd") == ["books", "dvd"]
    assert checked_sources("books", "books") == ["books"]  # the in-domain diagonal stays allowed


def four_domains(root: Path) -> Path:
    """alpha: 12 training texts, beta: 4, gamma: 8, delta: 6; validation: the first 3, test: the first 5."""
    for n, domain in zip((12, 4, 8, 6), DOMAINS, strict=True):
        rows = [(f"{domain} text number {i} " + "word " * (i % 5), LABELS[i % 2]) for i in range(n)]
        write_domain(root, domain, {"train": rows, "validation": rows[:3], "test": rows[:5]})
    return root


def test_pooled_sources_make_balanced_training_batches_without_target_labels(tmp_path, minilm_tokenizer):
    dm = make_dm(
        four_domains(tmp_path), minilm_tokenizer, domains=DOMAINS, source=["alpha", "beta", "gamma"],
        target="delta", batch_size=6, with_target_unlabeled=True,
    )  # fmt: skip
    dm.setup()
    assert dm.source == "alpha+beta+gamma" and dm.sources == ["alpha", "beta", "gamma"]
    assert len(dm.datasets["source_val"]) == 9 and len(dm.datasets["source_test"]) == 5 + 4 + 5  # pooled
    batches = list(dm.train_dataloader())
    assert len(batches) == 6  # ceil(3 * 12 / 6) source batches; the target loader (1 batch) is cycled
    for batch, _, _ in batches:
        assert Counter(batch["source"]["source_index"].tolist()) == {0: 2, 1: 2, 2: 2}
        assert "labels" in batch["source"]
        assert "labels" not in batch["target"] and "source_index" not in batch["target"]
    assert "source_index" not in next(iter(dm.val_dataloader()))


def test_an_unknown_source_in_a_list_fails_naming_the_domains(tmp_path, minilm_tokenizer) -> None:
    with pytest.raises(DataError, match=r"Unknown source domain 'omega'.*choose one of"):
        make_dm(four_domains(tmp_path), minilm_tokenizer, domains=DOMAINS, source=["alpha", "omega"])
    with pytest.raises(DataError, match="also one of the sources"):
        make_dm(four_domains(tmp_path), minilm_tokenizer, domains=DOMAINS, source=["alpha", "beta"])
