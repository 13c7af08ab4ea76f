"""`ModelOutputs`: token rows, per-text features and losses, the batch shape, against hand computations."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from nlp_transfer.models.pooling import pool
from nlp_transfer.strategies.outputs import IGNORE_INDEX, ModelOutputs

I = IGNORE_INDEX  # noqa: E741


def token_batch() -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Three sentences with sub-word pieces, [CLS]/[SEP] and padding: 3 labeled words, 1 labeled word, and
    2 words without a label (every label sits on a word start, as the tokenizer's alignment puts them)."""
    generator = torch.Generator().manual_seed(0)
    # [CLS] w0 w1a w1b w2 [SEP] | [CLS] w0a w0b [SEP] pad pad | [CLS] w0 w1a w1b [SEP] pad
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0]])
    starts = torch.tensor([[0, 1, 1, 0, 1, 0], [0, 1, 0, 0, 0, 0], [0, 1, 1, 0, 0, 0]], dtype=torch.bool)
    labels = torch.tensor([[I, 2, 0, I, 1, I], [I, 1, I, I, I, I], [I, I, I, I, I, I]])
    batch = {"input_ids": torch.ones(3, 6, dtype=torch.long), "attention_mask": mask, "labels": labels}
    batch["word_starts"] = starts
    return batch, torch.randn(3, 6, 5, generator=generator), torch.randn(3, 6, 3, generator=generator)


#: the hand-listed word starts of `token_batch`, (sentence, position), in batch order
WORDS = [(0, 1), (0, 2), (0, 4), (1, 1), (2, 1), (2, 2)]


def test_token_rows_are_words_and_give_per_sentence_word_features_and_the_mean_loss_over_labeled_words() -> (
    None
):
    """Rows are the word starts only (6 of 15 real tokens): predictions and features of words, what the
    classifier is trained on and the entity metric scores. Changed from every real token (the old
    definition gave 15 rows and mean-pooled all real tokens' features, [CLS]/[SEP] and pieces included)."""
    batch, features, logits = token_batch()
    out = ModelOutputs.from_batch(features, logits, batch, "token")
    sentence, position = (torch.tensor(column) for column in zip(*WORDS, strict=True))
    assert out.example.tolist() == [0, 0, 0, 1, 2, 2] and out.num_examples == 3
    assert torch.equal(out.logits, logits[sentence, position]) and torch.equal(
        out.features, features[sentence, position]
    )
    by_hand = torch.stack([features[0, [1, 2, 4]].mean(0), features[1, 1], features[2, [1, 2]].mean(0)])
    assert torch.allclose(out.example_features(), by_hand, atol=1e-6)
    assert not torch.allclose(
        by_hand, pool(features, batch["attention_mask"], "mean"), atol=1e-3
    )  # ≠ old rows
    token_loss = F.cross_entropy(logits.transpose(1, 2), batch["labels"], ignore_index=I, reduction="none")
    losses = out.example_losses()
    assert losses[0] == pytest.approx(float(token_loss[0, [1, 2, 4]].mean()))
    assert losses[1] == pytest.approx(float(token_loss[1, 1]))
    assert torch.isnan(losses[2])  # no labeled word: no loss, not a zero
    expected = F.cross_entropy(logits.reshape(-1, 3), batch["labels"].reshape(-1), ignore_index=I)
    assert out.mean_loss() == pytest.approx(float(expected))  # what training's loss averages
    preds, targets = out.metric_inputs()
    assert torch.equal(targets, batch["labels"])  # the entity metric scores the same words as before
    assert torch.equal(preds[batch["word_starts"]], logits.argmax(-1)[batch["word_starts"]])


def test_token_outputs_refuse_a_batch_without_word_starts_or_with_a_label_off_a_word_start() -> None:
    batch, features, logits = token_batch()
    with pytest.raises(ValueError, match="word_starts"):
        ModelOutputs.from_batch(
            features, logits, {k: v for k, v in batch.items() if k != "word_starts"}, "token"
        )
    labels = batch["labels"].clone()
    labels[0, 3] = 1  # a continuation piece (w1b) with a label
    with pytest.raises(ValueError, match="off a word start"):
        ModelOutputs.from_batch(features, logits, {**batch, "labels": labels}, "token")


def test_sequence_outputs_are_unchanged_by_word_rows_bit_for_bit() -> None:
    """Sequence level: one row per text, exactly the head's input and output and their cross-entropy,
    whether or not the batch carries `word_starts` (word rows exist only at token level)."""
    batch, features, logits = token_batch()
    seq = {
        "input_ids": batch["input_ids"],
        "attention_mask": batch["attention_mask"],
        "labels": torch.tensor([0, 2, 1]),
    }
    plain = ModelOutputs.from_batch(features[:, 0], logits[:, 0], seq, "sequence")
    with_starts = ModelOutputs.from_batch(
        features[:, 0], logits[:, 0], {**seq, "word_starts": batch["word_starts"]}, "sequence"
    )
    for out in (plain, with_starts):
        assert torch.equal(out.features, features[:, 0]) and torch.equal(out.logits, logits[:, 0])
        assert torch.equal(out.loss, F.cross_entropy(logits[:, 0], seq["labels"], reduction="none"))
        assert (
            out.example.tolist() == [0, 1, 2] and out.mask is None and torch.equal(out.labels, seq["labels"])
        )


def test_sequence_rows_are_texts_and_joined_batches_renumber_their_examples() -> None:
    batch, features, logits = token_batch()
    seq = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    first = ModelOutputs.from_batch(
        features[:, 0], logits[:, 0], {**seq, "labels": torch.tensor([0, 2, 1])}, "sequence"
    )
    expected = F.cross_entropy(logits[:, 0], torch.tensor([0, 2, 1]), reduction="none")
    assert torch.allclose(first.example_losses(), expected) and torch.equal(
        first.example_features(), features[:, 0]
    )
    unlabeled = ModelOutputs.from_batch(
        features, logits, {**seq, "word_starts": batch["word_starts"]}, "token"
    )
    assert unlabeled.loss is None and unlabeled.labels is None
    joined = ModelOutputs.cat([unlabeled, unlabeled])
    assert joined.num_examples == 6 and joined.example.tolist()[-3:] == [4, 5, 5] and joined.mask is None
    with pytest.raises(ValueError, match="needs labels"):
        joined.example_losses()
