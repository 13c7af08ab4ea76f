"""The target's train file is read and checked before the model loads for every strategy, also those
that never train on it (fine_tune): the label-free validators read it later, at the first validation,
and a bad line must not surface only after an epoch. Checking it tokenizes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp_transfer.assembly import build_data_and_model
from nlp_transfer.data.errors import DataError
from nlp_transfer.data.token_classification import TokenClassificationDataModule
from tests.conftest import TINY_FAST, compose_config
from tests.data.test_classification_datamodule import fixture_task, make_dm, write_domain

GOOD = [("great product, works well", "positive"), ("broke after a day", "negative")]


def spoil_line_3(path: Path, record: object) -> None:
    lines = path.read_text().splitlines()
    lines[2] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")


def test_a_bad_target_train_line_fails_setup_of_a_source_only_run(tmp_path: Path, minilm_tokenizer) -> None:
    root = fixture_task(tmp_path)
    spoil_line_3(root / "beta" / "train.jsonl", {"text": None, "label": "positive"})
    dm = make_dm(root, minilm_tokenizer)  # with_target_unlabeled=False: fine_tune and the like
    with pytest.raises(DataError, match=rf"^{root / 'beta' / 'train.jsonl'}:3: 'text' must be a string"):
        dm.setup("fit")


def test_checking_the_target_train_file_tokenizes_nothing(tmp_path: Path, minilm_tokenizer) -> None:
    cache = tmp_path / "cache"
    dm = make_dm(fixture_task(tmp_path / "data"), minilm_tokenizer, cache_dir=str(cache))
    dm.setup("fit")
    cached = sorted(p.name.rsplit("-", 1)[0] for p in (cache / "tokens").glob("*.npz"))
    assert cached == ["alpha-test", "alpha-train", "alpha-validation", "beta-test"]
    assert set(dm.datasets) == {"source_train", "source_val", "source_test", "target_test"}


def test_a_missing_target_train_file_fails_at_construction(tmp_path: Path, minilm_tokenizer) -> None:
    root = fixture_task(tmp_path)
    (root / "beta" / "train.jsonl").unlink()
    with pytest.raises(DataError, match="Split file not found: .*beta/train.jsonl"):
        make_dm(root, minilm_tokenizer, domains=["alpha", "beta"])


def test_an_unlabeled_ner_target_is_checked_without_its_tags(tmp_path: Path, minilm_tokenizer) -> None:
    for domain in ("a", "b"):
        (tmp_path / domain).mkdir()
        for split in ("train", "validation", "test"):
            record = {"tokens": ["Ann", "sings"], "tags": ["B-person", "O"]}
            (tmp_path / domain / f"{split}.jsonl").write_text(json.dumps(record) + "\n")
    target_train = tmp_path / "b" / "train.jsonl"
    target_train.write_text(json.dumps({"tokens": ["Ann", 7], "tags": "never read"}) + "\n")
    dm = TokenClassificationDataModule(
        name="toy", data_dir=str(tmp_path), domains=["a", "b"], source="a", target="b",
        tokenizer=minilm_tokenizer, entity_types=["person"],
    )  # fmt: skip
    with pytest.raises(DataError, match=rf"^{target_train}:1: token 1 must be a string, got int"):
        dm.setup("fit")


def test_fine_tune_refuses_a_malformed_target_train_file_before_the_encoder_is_built(
    tmp_path: Path, monkeypatch
) -> None:
    data = tmp_path / "data"
    for domain in ("books", "dvd"):
        write_domain(data / "sentiment", domain, {"train": GOOD * 3, "validation": GOOD, "test": GOOD})
    (data / "sentiment" / "dvd" / "train.jsonl").write_bytes(b'{"text": "caf\xe9", "label": "positive"}\n')
    built = []
    monkeypatch.setattr("nlp_transfer.models.backbone.random_bert", lambda **kw: built.append(kw))
    cfg = compose_config(
        [*TINY_FAST, "strategy=fine_tune", "task=sentiment", "domain.source=books", "domain.target=dvd",
         f"paths.data_dir={data}", f"paths.cache_dir={tmp_path / 'cache'}"],
        tmp_path / "run",
    )  # fmt: skip
    with pytest.raises(DataError, match=r"dvd/train.jsonl:1: not valid UTF-8"):
        build_data_and_model(cfg)
    assert built == []
