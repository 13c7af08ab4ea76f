"""The task level object: what differs between one label per text and one label per word, in one place."""

from __future__ import annotations

import pytest
import torch

from nlp_transfer.data.collate import IGNORE_INDEX
from nlp_transfer.models.pooling import pool
from nlp_transfer.strategies.task_level import LEVELS, SequenceLevel, TokenLevel, task_level

MASK = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
HIDDEN = torch.arange(2 * 4 * 3, dtype=torch.float32).reshape(2, 4, 3)


def test_sequence_rows_are_pooled_texts() -> None:
    level = task_level("sequence")
    features = level.features(HIDDEN, MASK, "mean")
    assert torch.equal(features, pool(HIDDEN, MASK, "mean")) and features.shape == (2, 3)
    assert level.rows(features, MASK) is features
    assert level.row_examples(MASK).tolist() == [0, 1]
    assert level.loss_count(torch.tensor([1, 0])) == 2 and level.guaranteed_rows(16) == 16
    assert set(level.metrics(["neg", "pos"]).keys()) == {"acc", "macro_f1", "class_f1"}


def test_token_rows_are_the_real_tokens_and_only_labeled_ones_count_for_the_loss() -> None:
    level = task_level("token")
    features = level.features(HIDDEN, MASK, "mean")
    assert features is HIDDEN  # no pooling: one row per token
    rows = level.rows(features, MASK)
    assert rows.shape == (5, 3) and torch.equal(rows[3], HIDDEN[1, 0])
    assert level.row_examples(MASK).tolist() == [0, 0, 0, 1, 1]
    labels = torch.tensor([[IGNORE_INDEX, 1, 2, IGNORE_INDEX], [IGNORE_INDEX, 0, IGNORE_INDEX, IGNORE_INDEX]])
    assert level.loss_count(labels) == 3
    assert level.guaranteed_rows(16) is None  # depends on the sentences' lengths


def test_word_rows_of_a_hand_made_ner_target_batch_are_the_word_starts_only() -> None:
    # [CLS] w0 w1a w1b [SEP] | [CLS] w0a w0b [SEP] pad: no labels, only the tokenizer's word starts
    batch = {
        "attention_mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]),
        "word_starts": torch.tensor([[0, 1, 1, 0, 0], [0, 1, 0, 0, 0]], dtype=torch.bool),
    }
    level = task_level("token")
    assert torch.equal(level.row_mask(batch), batch["attention_mask"].bool())  # default: every real token
    words = level.row_mask(batch, words=True)
    assert words.tolist() == batch["word_starts"].tolist()
    hidden = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)
    rows = level.rows(hidden, words)
    assert torch.equal(rows, torch.stack([hidden[0, 1], hidden[0, 2], hidden[1, 1]]))
    assert level.row_examples(words).tolist() == [0, 0, 1]
    padded_start = {**batch, "word_starts": torch.ones(2, 5, dtype=torch.bool)}  # a start on padding
    assert level.row_mask(padded_start, words=True).sum() == 9  # padding never becomes a row
    with pytest.raises(ValueError, match="word_starts"):
        level.row_mask({"attention_mask": batch["attention_mask"]}, words=True)
    sequence = task_level("sequence")  # a row is a text whatever is asked: the mask passes through
    assert sequence.row_mask(batch, words=True) is batch["attention_mask"]


def test_levels_are_found_by_name_and_an_unknown_one_is_refused() -> None:
    assert isinstance(LEVELS["sequence"], SequenceLevel) and isinstance(LEVELS["token"], TokenLevel)
    assert task_level(LEVELS["token"]) is LEVELS["token"]
    with pytest.raises(ValueError, match=r"level must be one of \['sequence', 'token'\], got 'spans'"):
        task_level("spans")
