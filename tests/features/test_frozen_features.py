"""The frozen-features component on its own: each dataset is encoded once (counted encoder calls), the
stored features equal encoding every batch (sequence and token level), a failed write leaves no file,
and other encoder weights make the module forget what it stored."""

from __future__ import annotations

import errno
import functools
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from nlp_transfer.data.collate import PaddingCollator
from nlp_transfer.data.errors import CacheError
from nlp_transfer.features.frozen_features import FrozenFeatures
from nlp_transfer.models.backbone import random_bert
from nlp_transfer.models.heads import ClassificationHead
from nlp_transfer.models.pooling import pool
from nlp_transfer.strategies.feature_extraction import FeatureExtractionModule

SIGNATURE = {"encoder": "random_bert(seed=0)", "pooling": "mean"}


def texts(count: int = 40, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Token-id sequences of 3 to 19 ids (the last two repeat the first: same ids, same features)."""
    rng = np.random.default_rng(seed)
    items = [{"input_ids": rng.integers(1, 1000, size=rng.integers(3, 20))} for _ in range(count - 2)]
    return items + items[:2]


def loader(items: list, batch_size: int = 8, shuffle: bool = False) -> DataLoader:
    return DataLoader(items, batch_size=batch_size, shuffle=shuffle, collate_fn=PaddingCollator(0))


class CountingEncoder:
    """A frozen tiny BERT as `encode`: mean-pooled (batch, hidden) or per token (batch, seq, hidden)."""

    def __init__(self, token_level: bool = False) -> None:
        self.bert, self.token_level, self.calls, self.examples = random_bert().eval(), token_level, 0, 0

    def __call__(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        self.calls += 1
        self.examples += len(batch["input_ids"])
        hidden = self.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        hidden = hidden.last_hidden_state
        return hidden if self.token_level else pool(hidden, batch["attention_mask"], "mean")


def all_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if p.is_file())


def test_a_dataset_is_encoded_once_and_a_second_store_reads_it_back_without_encoding(tmp_path) -> None:
    items, encode = texts(), CountingEncoder()
    frozen = FrozenFeatures(tmp_path, batch_size=16)
    frozen.prepare(loader(items), encode, SIGNATURE)
    # 38 distinct sequences + 2 repeats: the pass encodes every example once, in ceil(40 / 16) = 3 calls
    assert (encode.calls, encode.examples, frozen.encoded_examples) == (3, 40, 40)
    assert len(all_files(tmp_path / "features")) == 1

    frozen.prepare(loader(items), encode, SIGNATURE)  # the same dataset again (a later stage): a hit
    for batch in loader(items, shuffle=True):
        frozen.features(batch, encode)
    assert encode.calls == 3

    again = FrozenFeatures(tmp_path)  # a later run: the file, no encoder call
    again.prepare(loader(items), encode, SIGNATURE)
    assert (encode.calls, again.encoded_examples, again.loaded_examples) == (3, 0, 40)
    again.prepare(loader(items), encode, {**SIGNATURE, "pooling": "cls"})  # another key: encoded anew,
    assert (encode.calls, again.encoded_examples) == (4, 40)  # in one call of the default 64 examples
    assert len(all_files(tmp_path / "features")) == 2


@pytest.mark.parametrize("token_level", [False, True])
def test_stored_features_equal_encoding_every_batch(token_level: bool, tmp_path) -> None:
    items, encode = texts(), CountingEncoder(token_level)
    frozen = FrozenFeatures(tmp_path, batch_size=16)  # length-sorted chunks of 16, not the loader's
    frozen.prepare(loader(items), encode, SIGNATURE)
    calls = encode.calls
    torch.manual_seed(0)
    for batch in loader(items, batch_size=6, shuffle=True):
        stored = frozen.features(batch, encode)
        assert encode.calls == calls  # every row found by its token ids
        with torch.no_grad():
            fresh = encode(batch)
        encode.calls -= 1
        assert stored.shape == fresh.shape
        real = batch["attention_mask"].bool()
        if token_level:  # padding positions hold zeros; the real tokens the encoder's features
            torch.testing.assert_close(stored[real], fresh[real], atol=1e-5, rtol=1e-4)
            assert not stored[~real].any()
        else:
            torch.testing.assert_close(stored, fresh, atol=1e-5, rtol=1e-4)


def test_an_unknown_batch_is_encoded_once_and_remembered_in_memory_only(tmp_path) -> None:
    encode, frozen = CountingEncoder(), FrozenFeatures(tmp_path)
    batch = next(iter(loader(texts(seed=1))))
    first = frozen.features(batch, encode)
    second = frozen.features(batch, encode)
    assert encode.calls == 1 and torch.equal(first, second)
    assert all_files(tmp_path) == []  # a validator's own slice is not written


def test_a_failed_write_leaves_no_partial_file_and_the_next_run_writes_a_whole_one(
    tmp_path, monkeypatch
) -> None:
    items, encode = texts(), CountingEncoder()

    def save_then_disk_full(obj, handle) -> None:
        handle.write(b"half of a torch archive")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(torch, "save", save_then_disk_full)
        with pytest.raises(CacheError, match=r"No space left on device.*NLP_TRANSFER_CACHE"):
            FrozenFeatures(tmp_path).prepare(loader(items), encode, SIGNATURE)
    assert all_files(tmp_path) == []  # not even the temp file

    FrozenFeatures(tmp_path).prepare(loader(items), encode, SIGNATURE)
    reader = FrozenFeatures(tmp_path)
    reader.prepare(loader(items), encode, SIGNATURE)
    assert (reader.loaded_examples, reader.encoded_examples) == (40, 0)


def module(seed: int) -> FeatureExtractionModule:
    return FeatureExtractionModule(
        encoder=random_bert(seed=seed), label_names=["a", "b"], head=ClassificationHead,
        optimizer=functools.partial(torch.optim.AdamW), pooling="mean",
    )  # fmt: skip


def test_loading_other_encoder_weights_forgets_the_stored_features() -> None:
    model, items = module(seed=0), texts()
    model.frozen_features.prepare(loader(items), model.encode, model.feature_signature())
    stored = len(model.frozen_features.store)
    assert stored == 38  # one entry per distinct sequence
    model.load_state_dict(module(seed=0).state_dict())  # the same weights (a resume): kept
    assert len(model.frozen_features.store) == stored

    other = module(seed=1)
    model.load_state_dict(other.state_dict())
    assert len(model.frozen_features.store) == 0  # stale: the next batch is encoded by the new weights
    batch = next(iter(loader(items)))
    with torch.no_grad():
        torch.testing.assert_close(model.features(batch), other.encode(batch))
