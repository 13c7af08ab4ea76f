"""The classification DataModule on small fixture files and on the real Amazon data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp_transfer.data.classification import ClassificationDataModule
from nlp_transfer.data.errors import DataError

LABELS = ["negative", "positive"]


def write_domain(root: Path, domain: str, rows: dict[str, list[tuple[str, str]]]) -> None:
    folder = root / domain
    folder.mkdir(parents=True, exist_ok=True)
    for split, examples in rows.items():
        with (folder / f"{split}.jsonl").open("w", encoding="utf-8") as handle:
            for text, label in examples:
                handle.write(json.dumps({"text": text, "label": label}) + "\n")


def fixture_task(root: Path) -> Path:
    examples = [("great product, works well", "positive"), ("broke after a day", "negative")] * 3
    for domain in ("alpha", "beta"):
        write_domain(root, domain, {"train": examples, "validation": examples[:2], "test": examples[:4]})
    return root


def make_dm(data_dir: Path, tokenizer, **kwargs) -> ClassificationDataModule:
    args = dict(
        name="toy",
        data_dir=str(data_dir),
        domains=["alpha", "beta"],
        labels=LABELS,
        source="alpha",
        target="beta",
        tokenizer=tokenizer,
        max_length=16,
        batch_size=4,
        cache_dir=None,
    )
    args.update(kwargs)
    return ClassificationDataModule(**args)


def test_label_ids_follow_the_config_not_the_file(tmp_path, minilm_tokenizer) -> None:
    root = fixture_task(tmp_path)
    forward = make_dm(root, minilm_tokenizer)
    reverse = make_dm(root, minilm_tokenizer, labels=["positive", "negative"])
    forward.setup()
    reverse.setup()
    # the first file row is positive: id 1 under [negative, positive], id 0 under [positive, negative]
    assert forward.datasets["source_train"].labels[0].item() == 1
    assert reverse.datasets["source_train"].labels[0].item() == 0


def test_target_training_data_carries_no_labels(tmp_path, minilm_tokenizer) -> None:
    dm = make_dm(fixture_task(tmp_path), minilm_tokenizer, with_target_unlabeled=True)
    dm.setup()
    batches = list(iter(dm.train_dataloader()))
    assert batches, "no training batches"
    for batch, _, _ in batches:
        assert set(batch["target"]) == {"input_ids", "attention_mask"}
        assert "labels" in batch["source"]
    assert dm.datasets["target_unlabeled"].labels is None


def test_source_only_training_has_no_target_loader(tmp_path, minilm_tokenizer) -> None:
    dm = make_dm(fixture_task(tmp_path), minilm_tokenizer)
    dm.setup()
    batch, _, _ = next(iter(dm.train_dataloader()))
    assert set(batch) == {"source"}


def test_dynamic_padding_pads_to_the_longest_in_batch(tmp_path, minilm_tokenizer) -> None:
    dm = make_dm(fixture_task(tmp_path), minilm_tokenizer, max_length=64)
    dm.setup()
    batch = next(iter(dm.val_dataloader()))
    lengths = batch["attention_mask"].sum(dim=1)
    assert batch["input_ids"].shape[1] == lengths.max().item() < 64
    assert (batch["input_ids"][batch["attention_mask"] == 0] == minilm_tokenizer.pad_token_id).all()


def test_missing_data_directory_names_path_and_env_var(tmp_path, minilm_tokenizer) -> None:
    with pytest.raises(DataError, match=r"NLP_TRANSFER_DATA") as err:
        make_dm(tmp_path / "nowhere", minilm_tokenizer)
    assert str(tmp_path / "nowhere") in str(err.value)


def test_missing_split_file_is_named(tmp_path, minilm_tokenizer) -> None:
    root = fixture_task(tmp_path)
    (root / "beta" / "test.jsonl").unlink()
    with pytest.raises(DataError, match=r"beta/test\.jsonl"):
        make_dm(root, minilm_tokenizer)


def test_empty_split_is_an_error(tmp_path, minilm_tokenizer) -> None:
    root = fixture_task(tmp_path)
    (root / "alpha" / "validation.jsonl").write_text("")
    dm = make_dm(root, minilm_tokenizer)
    with pytest.raises(DataError, match="empty"):
        dm.setup()


def test_label_outside_the_task_label_set_is_an_error(tmp_path, minilm_tokenizer) -> None:
    root = fixture_task(tmp_path)
    write_domain(root, "beta", {"test": [("meh", "neutral")]})
    dm = make_dm(root, minilm_tokenizer)
    with pytest.raises(DataError, match=r"\['neutral'\].*not in the task's label set"):
        dm.setup()


def test_unknown_domain_is_an_error(tmp_path, minilm_tokenizer) -> None:
    with pytest.raises(DataError, match=r"Unknown target domain 'gamma'"):
        make_dm(fixture_task(tmp_path), minilm_tokenizer, target="gamma")


def test_real_amazon_pair_loads_with_documented_counts(data_dir, minilm_tokenizer, tmp_path) -> None:
    dm = ClassificationDataModule(
        name="sentiment",
        data_dir=str(data_dir / "sentiment"),
        domains=["books", "dvd", "electronics", "kitchen"],
        labels=LABELS,
        source="books",
        target="kitchen",
        tokenizer=minilm_tokenizer,
        max_length=128,
        cache_dir=str(tmp_path),
        with_target_unlabeled=True,
    )
    dm.setup()
    # counts from ../shared/data/sentiment/README.md
    assert len(dm.datasets["source_train"]) == 695 + 674
    assert len(dm.datasets["source_val"]) == 99 + 96
    assert len(dm.datasets["target_test"]) == 199 + 197
    assert len(dm.datasets["target_unlabeled"]) == 697 + 687
    assert dm.datasets["target_unlabeled"].labels is None
    assert int(dm.datasets["source_train"].tokens.lengths().max()) == 128


def test_target_labels_missing_from_the_source_fail_naming_both_sets(tmp_path, minilm_tokenizer) -> None:
    root = fixture_task(tmp_path)
    write_domain(root, "beta", {"test": [("meh", "neutral"), ("fine", "positive")]})
    dm = make_dm(root, minilm_tokenizer, labels=["negative", "positive", "neutral"])
    with pytest.raises(DataError, match=r"source 'alpha' has \['negative', 'positive'\], target 'beta' has "
                       r"\['neutral', 'positive'\]"):  # fmt: skip
        dm.setup()


def test_a_new_domain_folder_is_a_valid_domain_without_config(tmp_path, minilm_tokenizer) -> None:
    root = fixture_task(tmp_path)
    write_domain(root, "gamma", {"train": [("ok", "positive")], "validation": [("ok", "positive")],
                                 "test": [("bad", "negative"), ("good", "positive")]})  # fmt: skip
    dm = make_dm(root, minilm_tokenizer, target="gamma")
    dm.setup()
    assert "gamma" in dm.domains and len(dm.datasets["target_test"]) == 2
