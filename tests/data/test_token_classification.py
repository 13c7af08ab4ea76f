"""NER data: BIO label spaces with domain type maps, sub-word alignment, padding, real CrossNER files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from nlp_transfer.data.collate import IGNORE_INDEX
from nlp_transfer.data.errors import DataError
from nlp_transfer.data.token_classification import (
    TokenClassificationDataModule,
    align_labels,
    bio_label_space,
    word_start_flags,
)
from tests.conftest import compose_config


def test_bio_space_order_and_type_mapping() -> None:
    space = bio_label_space(["person", "location"], {"politics": {"politician": "person"}})
    assert space.names == ["O", "B-person", "I-person", "B-location", "I-location"]
    assert space.encode(["B-politician", "I-politician", "O"], domain="politics") == [1, 2, 0]
    with pytest.raises(DataError, match="B-politician"):
        space.encode(["B-politician"], where="news/train.jsonl", domain="news")


def test_only_the_first_sub_token_of_a_word_is_labeled() -> None:
    # [CLS] w0 w1a w1b w2 [SEP]
    assert align_labels([None, 0, 1, 1, 2, None], [5, 6, 7]) == [
        IGNORE_INDEX,
        5,
        6,
        IGNORE_INDEX,
        7,
        IGNORE_INDEX,
    ]
    assert word_start_flags([None, 0, 1, 1, 2, None]) == [0, 1, 1, 0, 1, 0]  # the labeled positions


def write_ner(root: Path, domain: str, sentences: list[tuple[list[str], list[str]]]) -> None:
    folder = root / domain
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "validation", "test"):
        with (folder / f"{split}.jsonl").open("w") as handle:
            for tokens, tags in sentences:
                handle.write(json.dumps({"tokens": tokens, "tags": tags}) + "\n")


def test_real_tokenizer_alignment_and_padding(tmp_path, minilm_tokenizer) -> None:
    words = ["Obama", "visited", "Kirkjubaejarklaustur"]
    write_ner(tmp_path, "a", [(words, ["B-politician", "O", "B-location"])])
    write_ner(tmp_path, "b", [(["Paris"], ["B-location"]), (["He", "left"], ["O", "O"])])
    dm = TokenClassificationDataModule(
        name="toy",
        data_dir=str(tmp_path),
        domains=["a", "b"],
        source="a",
        target="b",
        tokenizer=minilm_tokenizer,
        entity_types=["person", "location"],
        label_map={"a": {"politician": "person"}},
        cache_dir=str(tmp_path / "cache"),
        with_target_unlabeled=True,
    )
    dm.setup()
    item = dm.datasets["source_train"][0]
    encoded = minilm_tokenizer(words, is_split_into_words=True)
    assert list(item["input_ids"]) == encoded["input_ids"]
    labeled = [(i, int(v)) for i, v in enumerate(item["labels"]) if v != IGNORE_INDEX]
    first_subtokens = [encoded.word_ids().index(w) for w in range(3)]
    assert labeled == list(zip(first_subtokens, [1, 0, 3], strict=True))  # B-person, O, B-location
    assert len(encoded["input_ids"]) > 5  # the place name splits into pieces; only the first is labeled

    batch = next(iter(dm.test_dataloader()[1]))
    assert batch["labels"].shape == batch["input_ids"].shape
    assert (batch["labels"][batch["attention_mask"] == 0] == IGNORE_INDEX).all()
    assert (~batch["word_starts"][batch["attention_mask"] == 0]).all()  # padding is never a word
    assert torch.equal(batch["word_starts"], batch["labels"] != IGNORE_INDEX)
    target_batch, _, _ = next(iter(dm.train_dataloader()))
    target = target_batch["target"]
    assert set(target) == {"input_ids", "attention_mask", "word_starts"}  # word starts, never tags
    # the unlabeled target train split marks exactly the positions its labeled test split labels
    # (write_ner writes the same sentences to every split), yet it was built without reading a tag
    unlabeled, labeled = dm.datasets["target_unlabeled"], dm.datasets["target_test"]
    assert unlabeled.labels is None
    for index in range(len(unlabeled)):
        starts, labels = unlabeled[index]["word_starts"], labeled[index]["labels"]
        assert (starts == 1).tolist() == (labels != IGNORE_INDEX).tolist()


def test_tags_and_tokens_of_unequal_length_are_an_error(tmp_path, minilm_tokenizer) -> None:
    write_ner(tmp_path, "a", [(["x", "y"], ["O"])])
    dm = TokenClassificationDataModule(
        name="toy",
        data_dir=str(tmp_path),
        domains=["a"],
        source="a",
        target="a",
        tokenizer=minilm_tokenizer,
        entity_types=["person"],
    )
    with pytest.raises(DataError, match="2 tokens but 1 tags"):
        dm.setup()


@pytest.mark.parametrize("target", ["politics", "science", "music", "literature", "ai"])
def test_every_crossner_type_is_mapped_and_counts_match_the_readme(
    target, data_dir, minilm_tokenizer, tmp_path
):
    cfg = compose_config(["task=ner", f"domain.target={target}"], tmp_path)
    dm = TokenClassificationDataModule(
        name="ner",
        data_dir=str(data_dir / "ner"),
        domains=list(cfg.task.domains),
        source="news",
        target=target,
        tokenizer=minilm_tokenizer,
        entity_types=list(cfg.task.entity_types),
        label_map={k: dict(v) for k, v in cfg.task.label_map.items()},
        cache_dir=str(tmp_path),
        max_eval_examples=None,
    )
    dm.setup()  # raises if any tag of the domain is not mapped
    readme_test_sentences = {"politics": 651, "science": 543, "music": 465, "literature": 416, "ai": 431}
    assert len(dm.datasets["target_test"]) == readme_test_sentences[target]
    assert len(dm.datasets["source_train"]) == 14041
    labels = torch.from_numpy(dm.datasets["target_test"].labels.ids.astype("int64"))
    assert set(labels[labels != IGNORE_INDEX].tolist()) == set(range(len(dm.label_names)))
