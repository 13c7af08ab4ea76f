"""What a model gives for a batch, in the one shape every consumer reads.

`TransferModule.outputs(batch)` builds a `ModelOutputs`; the validation and test steps (metrics, loss,
test predictions) and the label-free validators (nlp_transfer.selection) all read it, so masking,
per-example losses and per-text pooling of token features exist once, here.

A row is a text at sequence level and a word at token level (NER): its first sub-token, the one row per
word the classifier is trained on and the entity metric scores (`TaskLevel.row_mask(words=True)`, from
the batch's `word_starts`; other sub-word pieces, special tokens and padding are never rows), so every
validator reads predictions and features of words, as the task defines them. `example` says which text
each row belongs to, and `mask` (one batch only) where each row sat in the padded batch.
Only torch is imported here: the validators use this module without Lightning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch
from torch.nn import functional as F

from nlp_transfer.data.collate import IGNORE_INDEX  # a row with no label: padding, special tokens, ...

if TYPE_CHECKING:
    from nlp_transfer.strategies.task_level import TaskLevel

__all__ = ["IGNORE_INDEX", "ModelOutputs"]


@dataclass(frozen=True)
class ModelOutputs:
    """A model's outputs on a batch (or on a split, after `cat`).

    Attributes:
        logits: (rows, classes) float32 head outputs.
        features: (rows, dim) what the head reads: pooled text features, or each word's first sub-token's.
        example: (rows,) index of the text each row belongs to, in 0 .. num_examples-1.
        num_examples: texts in the batch (a text may have no row only at token level, never in practice).
        labels: (rows,) gold label ids, IGNORE_INDEX where a row has none; None for unlabeled text.
        loss: (rows,) per-row cross-entropy, NaN where the row has no label; None for unlabeled text.
        mask: (batch, seq) token level, single batch only: the positions that became rows.
    """

    logits: torch.Tensor
    features: torch.Tensor
    example: torch.Tensor
    num_examples: int
    labels: torch.Tensor | None = None
    loss: torch.Tensor | None = None
    mask: torch.Tensor | None = None

    def __post_init__(self) -> None:
        rows = len(self.logits)
        if self.logits.ndim != 2 or self.features.ndim != 2 or len(self.features) != rows:
            raise ValueError(
                f"logits {tuple(self.logits.shape)} and features {tuple(self.features.shape)} must be "
                f"(rows, classes) and (rows, dim) with the same rows"
            )
        for name in ("example", "labels", "loss"):
            value = getattr(self, name)
            if value is not None and value.shape != (rows,):
                raise ValueError(f"{name} must hold one value per row ({rows}), got {tuple(value.shape)}")

    # ----------------------------------------------------------------- building
    @classmethod
    def from_batch(
        cls,
        features: torch.Tensor,
        logits: torch.Tensor,
        batch: Mapping[str, torch.Tensor],
        level: str | TaskLevel,
    ) -> ModelOutputs:
        """From the head's input and output on a batch, one row per the level's unit (a text, a word's
        first sub-token); the row mask is kept when rows are not texts.

        Raises:
            ValueError: a token-level batch without `word_starts`, or with a label off a word start.
        """
        from nlp_transfer.strategies.task_level import task_level

        level = task_level(level)
        labels, rows = batch.get("labels"), level.row_mask(batch, words=True)
        mask = None if level.one_row_per_text else rows.bool()
        if mask is not None and labels is not None and bool(((labels != IGNORE_INDEX) & ~mask).any()):
            raise ValueError(
                "a label sits off a word start: only each word's first sub-token may carry one ("
                "`word_starts` and `labels` disagree); build both from the tokenizer's word alignment "
                "(nlp_transfer.data.token_classification)"
            )
        features, logits = level.rows(features, rows), level.rows(logits, rows)
        labels = None if labels is None else level.rows(labels, rows)
        example = level.row_examples(rows)
        logits = logits.float()
        loss = None
        if labels is not None:
            scored = labels != IGNORE_INDEX
            loss = F.cross_entropy(logits, labels, ignore_index=IGNORE_INDEX, reduction="none")
            loss = torch.where(scored, loss, torch.nan)
        return cls(logits, features, example, len(batch["input_ids"]), labels, loss, mask)

    @classmethod
    def from_probs(
        cls, probs: torch.Tensor, features: torch.Tensor, loss: torch.Tensor | None = None
    ) -> ModelOutputs:
        """Outputs with one row per text from given probabilities (hand-built inputs for a validator)."""
        example = torch.arange(len(probs))
        return cls(probs.double().clamp_min(1e-300).log().float(), features, example, len(probs), loss=loss)

    def detached_cpu(self) -> ModelOutputs:
        """A CPU copy with float32 features, for keeping across batches (validators, predictions)."""
        moved = {
            name: None if getattr(self, name) is None else getattr(self, name).detach().cpu()
            for name in ("logits", "example", "labels", "loss", "mask")
        }
        return replace(self, features=self.features.detach().float().cpu(), **moved)

    @staticmethod
    def cat(parts: Sequence[ModelOutputs]) -> ModelOutputs:
        """One split's outputs from its batches' (examples renumbered in order; `mask` dropped)."""
        if not parts:
            raise ValueError("no batches to join: the loader was empty")
        offsets = torch.tensor([0] + [p.num_examples for p in parts]).cumsum(0).tolist()
        labeled = all(p.labels is not None for p in parts)
        return ModelOutputs(
            logits=torch.cat([p.logits for p in parts]),
            features=torch.cat([p.features for p in parts]),
            example=torch.cat([p.example + offset for p, offset in zip(parts, offsets, strict=False)]),
            num_examples=offsets[-1],
            labels=torch.cat([p.labels for p in parts]) if labeled else None,  # type: ignore[misc]
            loss=torch.cat([p.loss for p in parts]) if labeled else None,  # type: ignore[misc]
        )

    # ----------------------------------------------------------------- reading
    @property
    def probs(self) -> torch.Tensor:
        """(rows, classes) softmax predictions."""
        return self.logits.softmax(dim=-1)

    @property
    def preds(self) -> torch.Tensor:
        """(rows,) predicted label ids."""
        return self.logits.argmax(dim=-1)

    def mean_loss(self) -> torch.Tensor:
        """Mean cross-entropy over the rows with a label (what the training loss averages)."""
        if self.loss is None or self.labels is None:
            raise ValueError("mean_loss needs labels: these outputs are of unlabeled text")
        return self.loss[self.labels != IGNORE_INDEX].mean()

    def batch_shaped(self, values: torch.Tensor, fill: int | float = IGNORE_INDEX) -> torch.Tensor:
        """Row values back in the batch's shape: (batch, seq) at token level, `fill` at padding."""
        if self.mask is None:
            if len(self.example) != self.num_examples:
                raise ValueError("token-level rows can be put back in batch shape only for a single batch")
            return values
        shaped = values.new_full((*self.mask.shape, *values.shape[1:]), fill)
        shaped[self.mask] = values
        return shaped

    def metric_inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(preds, targets) in the batch's shape, as the task metrics (accuracy, entity F1) take them."""
        if self.labels is None:
            raise ValueError("metric_inputs needs labels: these outputs are of unlabeled text")
        return self.batch_shaped(self.preds, 0), self.batch_shaped(self.labels, IGNORE_INDEX)

    def example_mean(self, values: torch.Tensor, where: torch.Tensor | None = None) -> torch.Tensor:
        """(num_examples, ...) mean of each text's rows (those where `where`); NaN for a text with none."""
        keep = torch.ones(len(values), dtype=torch.bool) if where is None else where
        keep = keep.to(values.device)
        shape = (self.num_examples, *values.shape[1:])
        kept = torch.where(keep.view(-1, *[1] * (values.ndim - 1)), values, torch.zeros_like(values))
        sums = values.new_zeros(shape).index_add_(0, self.example, kept)
        counts = values.new_zeros(self.num_examples).index_add_(0, self.example, keep.to(values.dtype))
        counts = counts.view(-1, *[1] * (values.ndim - 1))
        return torch.where(counts > 0, sums / counts.clamp_min(1), torch.nan)

    def example_features(self) -> torch.Tensor:
        """(num_examples, dim) one vector per text: its features, or the mean of its words' (first
        sub-tokens')."""
        return self.example_mean(self.features)

    def example_losses(self) -> torch.Tensor:
        """(num_examples,) each text's cross-entropy (the mean over its labeled words); NaN if none."""
        if self.loss is None:
            raise ValueError("example_losses needs labels: these outputs are of unlabeled text")
        return self.example_mean(self.loss, None if self.labels is None else self.labels != IGNORE_INDEX)
