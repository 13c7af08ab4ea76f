"""BERT masking: 15% of real non-special tokens, 80/10/10, never padding or special tokens."""

from __future__ import annotations

import pytest
import torch

from nlp_transfer.models.masking import IGNORE_INDEX, mask_tokens, masking_vocabulary

MASK, CLS, SEP, PAD, VOCAB = 103, 101, 102, 0, 30522


def batch(rows: int = 400, length: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """[CLS] words [SEP] [PAD]…, with each row's real length between 10 and `length`."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, VOCAB, (rows, length), generator=generator)
    lengths = torch.randint(10, length + 1, (rows,), generator=generator)
    positions = torch.arange(length).expand(rows, length)
    mask = (positions < lengths[:, None]).long()
    ids[:, 0] = CLS
    ids[positions == (lengths[:, None] - 1)] = SEP
    ids[mask == 0] = PAD
    return ids, mask


def test_masking_rate_targets_and_the_80_10_10_split() -> None:
    ids, attention = batch()
    corrupted, labels = mask_tokens(
        ids, attention, MASK, [PAD, CLS, SEP], VOCAB, generator=torch.Generator().manual_seed(1)
    )
    chosen = labels != IGNORE_INDEX
    real = attention.bool() & (ids != CLS) & (ids != SEP)
    assert not (chosen & ~real).any(), "padding or a special token was chosen"
    assert chosen.sum() / real.sum() == pytest.approx(0.15, abs=0.01)
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(corrupted[~chosen], ids[~chosen]), "a position that was not chosen changed"
    n = chosen.sum().item()
    masked = (corrupted[chosen] == MASK).sum().item() / n
    unchanged = (corrupted[chosen] == ids[chosen]).sum().item() / n
    assert masked == pytest.approx(0.8, abs=0.03)
    assert unchanged == pytest.approx(0.1, abs=0.02)
    assert 1 - masked - unchanged == pytest.approx(0.1, abs=0.02)  # random replacements


def test_masking_leaves_its_input_alone_and_rejects_a_bad_probability() -> None:
    ids, attention = batch(rows=4, length=20)
    original = ids.clone()
    mask_tokens(ids, attention, MASK, [PAD, CLS, SEP], VOCAB)
    assert torch.equal(ids, original)
    with pytest.raises(ValueError, match="probability"):
        mask_tokens(ids, attention, MASK, [PAD, CLS, SEP], VOCAB, probability=1.5)


def test_masking_vocabulary_of_the_minilm_tokenizer(minilm_tokenizer) -> None:
    vocabulary = masking_vocabulary(minilm_tokenizer)
    assert vocabulary["mask_token_id"] == minilm_tokenizer.convert_tokens_to_ids("[MASK]")
    assert {CLS, SEP, PAD, MASK} <= set(vocabulary["special_token_ids"])
    assert vocabulary["vocab_size"] == VOCAB
