"""The task level as an object: how a task family turns encoder states into rows, and rows into results.

Every strategy, the model outputs (strategies/outputs.py), the test predictions and the pre-flight
checks ask the level instead of testing a name, so a new task family (multi-label, spans, text pairs)
is one `TaskLevel` subclass plus one entry in `LEVELS`. Two exist:

- `sequence`: one label per text. Features are the pooled last hidden layer (batch, hidden); a row is a
  text; metrics are accuracy, macro-F1 and per-class F1; predictions keep each text's probabilities.
- `token`: one label per word (NER). Features are every token's state (batch, seq, hidden); a row is a
  real (non-padding) token, or with `words=True` (`row_mask`) a word's first sub-token, the rows that
  carry labels (a batch says which in `word_starts`, labeled or not); metrics are entity-level P/R/F1
  (seqeval's conlleval mode); predictions keep each sentence's scored tags.

The rule at token level: whatever reads the classifier's PREDICTIONS reads word rows (`words=True`), since
the classifier is trained only there (other pieces carry the ignore index) and NER is scored per word, so
its outputs on other sub-word pieces and special tokens are neither trained nor scored. That is every
`ModelOutputs` row (validation, test, and all label-free validators: strategies/outputs.py) and the domain
loss of a strategy with `word_rows` (MCC, BNM, CDAN, self-training). Feature alignment that reads no
prediction (DANN, MMD, CORAL) keeps every real token: it aligns the encoder's representation of each.
Sequence level has one row per text either way.

Configs and files name a level by its string (`level: token` in a DataModule, in checkpoints, in
prediction files); `task_level(name)` gives the object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from nlp_transfer.data.collate import IGNORE_INDEX  # a row with no label: padding, special tokens, ...
from nlp_transfer.metrics.entity_f1 import EntityF1
from nlp_transfer.models.pooling import pool
from nlp_transfer.results.predictions import Predictions


class TaskLevel:
    """What differs between task families; one instance per level (they hold no state)."""

    name: ClassVar[str]
    #: whether features are pooled per text (the `pooling` option applies) rather than kept per token
    pools: ClassVar[bool]
    #: whether a row is a whole text (else rows are parts of texts and outputs keep the attention mask)
    one_row_per_text: ClassVar[bool]

    def features(self, hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
        """The head's input from the encoder's last hidden states (batch, seq, hidden)."""
        raise NotImplementedError

    def rows(self, values: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """`values` (features, logits or labels of a batch) as one entry per row."""
        raise NotImplementedError

    def row_examples(self, attention_mask: torch.Tensor) -> torch.Tensor:
        """(rows,) the index within the batch of the text each row belongs to."""
        raise NotImplementedError

    def row_mask(self, batch: Mapping[str, torch.Tensor], words: bool = False) -> torch.Tensor:
        """(batch, seq) the mask `rows` and `row_examples` take for this batch: its attention mask, or with
        `words` only the positions that can carry a label (at token level, each word's first sub-token)."""
        return batch["attention_mask"]

    def loss_count(self, labels: torch.Tensor) -> int:
        """What a batch's mean loss averages over (texts, or labeled tokens)."""
        raise NotImplementedError

    def guaranteed_rows(self, batch_size: int) -> int | None:
        """Rows a batch of `batch_size` texts is sure to give a domain loss (None: depends on the texts)."""
        raise NotImplementedError

    def metrics(self, label_names: list[str]) -> Metric | MetricCollection:
        """A fresh metric for one split, updated with `ModelOutputs.metric_inputs()`."""
        raise NotImplementedError

    def prediction_rows(self, outputs: Any, order: list[int], done: int) -> list[tuple]:
        """One batch's `(file index, gold, pred, probabilities)` rows; the loader gave `done` rows before."""
        raise NotImplementedError

    def predictions(self, rows: list[tuple], common: dict[str, Any], num_labels: int) -> Predictions:
        """A split's prediction file contents from its rows (in file order)."""
        raise NotImplementedError


class SequenceLevel(TaskLevel):
    name = "sequence"
    pools = True
    one_row_per_text = True

    def features(self, hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
        return pool(hidden, attention_mask, pooling)

    def rows(self, values: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return values

    def row_examples(self, attention_mask: torch.Tensor) -> torch.Tensor:
        return torch.arange(len(attention_mask), device=attention_mask.device)

    def loss_count(self, labels: torch.Tensor) -> int:
        return len(labels)

    def guaranteed_rows(self, batch_size: int) -> int | None:
        return batch_size

    def metrics(self, label_names: list[str]) -> Metric | MetricCollection:
        num = len(label_names)
        return MetricCollection(
            {
                "acc": MulticlassAccuracy(num_classes=num, average="micro"),
                "macro_f1": MulticlassF1Score(num_classes=num, average="macro"),
                "class_f1": MulticlassF1Score(num_classes=num, average="none"),
            }
        )

    def prediction_rows(self, outputs: Any, order: list[int], done: int) -> list[tuple]:
        probs, labels = outputs.probs.detach().cpu(), outputs.labels
        if labels is None:
            raise ValueError("test predictions need labeled batches: the test split has no labels")
        return [
            (order[done + i], gold, int(prob.argmax()), prob.half().numpy())
            for i, (gold, prob) in enumerate(zip(labels.tolist(), probs, strict=True))
        ]

    def predictions(self, rows: list[tuple], common: dict[str, Any], num_labels: int) -> Predictions:
        probs = np.stack([r[3] for r in rows]) if rows else np.zeros((0, num_labels))
        gold = np.array([r[1] for r in rows], dtype=np.int64)
        return Predictions(**common, gold=gold, pred=np.array([r[2] for r in rows]), probs=probs)


class TokenLevel(TaskLevel):
    name = "token"
    pools = False
    one_row_per_text = False

    def features(self, hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
        return hidden

    def rows(self, values: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return values[attention_mask.bool()]

    def row_examples(self, attention_mask: torch.Tensor) -> torch.Tensor:
        return attention_mask.bool().nonzero()[:, 0]

    def row_mask(self, batch: Mapping[str, torch.Tensor], words: bool = False) -> torch.Tensor:
        real = batch["attention_mask"].bool()
        if not words:
            return real
        if "word_starts" not in batch:
            raise ValueError(
                "word rows need the batch's `word_starts` (1 at each word's first sub-token), which the "
                "token-classification DataModule adds to every batch; add it to a hand-built batch."
            )
        return real & batch["word_starts"].bool()

    def loss_count(self, labels: torch.Tensor) -> int:
        return int((labels != IGNORE_INDEX).sum())

    def guaranteed_rows(self, batch_size: int) -> int | None:
        return None  # one row per real token: at least one per sentence, usually many

    def metrics(self, label_names: list[str]) -> Metric | MetricCollection:
        return EntityF1(label_names, ignore_index=IGNORE_INDEX)

    def prediction_rows(self, outputs: Any, order: list[int], done: int) -> list[tuple]:
        preds, labels = (values.detach().cpu() for values in outputs.metric_inputs())
        rows = []
        for i, (gold, pred) in enumerate(zip(labels, preds, strict=True)):
            scored = gold != IGNORE_INDEX
            rows.append((order[done + i], gold[scored].numpy(), pred[scored].numpy(), None))
        return rows

    def predictions(self, rows: list[tuple], common: dict[str, Any], num_labels: int) -> Predictions:
        counts = np.array([len(r[1]) for r in rows], dtype=np.int64)
        gold = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0, np.int64)
        pred = np.concatenate([r[2] for r in rows]) if rows else np.zeros(0, np.int64)
        return Predictions(**common, gold=gold, pred=pred, word_counts=counts)


LEVELS: dict[str, TaskLevel] = {level.name: level for level in (SequenceLevel(), TokenLevel())}


def task_level(level: str | TaskLevel) -> TaskLevel:
    """The level named `level` (a `TaskLevel` passes through); a clear error for an unknown name."""
    if isinstance(level, TaskLevel):
        return level
    if level not in LEVELS:
        raise ValueError(f"level must be one of {sorted(LEVELS)}, got {level!r}")
    return LEVELS[level]
