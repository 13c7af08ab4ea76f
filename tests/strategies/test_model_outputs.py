"""`ModelOutputs`: token rows, per-text features and losses, the batch shape, against hand computations."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from nlp_transfer.models.pooling import pool
from nlp_transfer.strategies.outputs import IGNORE_INDEX, ModelOutputs

I = IGNORE_INDEX  # noqa: E741


def token_batch() -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Two sentences (4 and 2 real tokens, 3 labeled words) and a third with no labeled word."""
    generator = torch.Generator().manual_seed(0)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0]])
    labels = torch.tensor([[I, 2, 0, I], [I, 1, I, I], [I, I, I, I]])
    batch = {"input_ids": torch.ones(3, 4, dtype=torch.long), "attention_mask": mask, "labels": labels}
    return batch, torch.randn(3, 4, 5, generator=generator), torch.randn(3, 4, 3, generator=generator)


def test_token_rows_give_the_mean_pooled_text_features_and_the_mean_loss_over_labeled_words() -> None:
    batch, features, logits = token_batch()
    out = ModelOutputs.from_batch(features, logits, batch, "token")
    assert len(out.logits) == 9 and out.example.tolist() == [0, 0, 0, 0, 1, 1, 2, 2, 2]  # real tokens only
    assert torch.allclose(out.example_features(), pool(features, batch["attention_mask"], "mean"), atol=1e-6)
    token_loss = F.cross_entropy(logits.transpose(1, 2), batch["labels"], ignore_index=I, reduction="none")
    losses = out.example_losses()
    assert losses[0] == pytest.approx(float(token_loss[0, 1:3].mean()))
    assert losses[1] == pytest.approx(float(token_loss[1, 1]))
    assert torch.isnan(losses[2])  # no labeled word: no loss, not a zero
    expected = F.cross_entropy(logits.reshape(-1, 3), batch["labels"].reshape(-1), ignore_index=I)
    assert out.mean_loss() == pytest.approx(float(expected))  # what training's loss averages
    preds, targets = out.metric_inputs()
    assert torch.equal(targets, batch["labels"])
    assert torch.equal(
        preds[batch["attention_mask"].bool()], logits.argmax(-1)[batch["attention_mask"].bool()]
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
    unlabeled = ModelOutputs.from_batch(features, logits, seq, "token")
    assert unlabeled.loss is None and unlabeled.labels is None
    joined = ModelOutputs.cat([unlabeled, unlabeled])
    assert joined.num_examples == 6 and joined.example.tolist()[-3:] == [5, 5, 5] and joined.mask is None
    with pytest.raises(ValueError, match="needs labels"):
        joined.example_losses()
