"""The DataModule for text classification under domain shift (sentiment, emotion, topic)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nlp_transfer.data.collate import TokenizedDataset
from nlp_transfer.data.errors import DataError
from nlp_transfer.data.jsonl import read_classification_split
from nlp_transfer.data.label_space import LabelSpace
from nlp_transfer.data.tokenization import TRUNCATIONS, cached_tokenize
from nlp_transfer.data.transfer_datamodule import TransferDataModule


class ClassificationDataModule(TransferDataModule):
    """Source → target text classification over one task's named domains.

    Args (beyond `TransferDataModule`):
        labels: the task's labels; their order fixes the label ids.
        truncation: `head`, `tail` or `head_tail` for texts longer than `max_length`.
        head_fraction: share of the token budget kept from the start under `head_tail`.
        label_map: domain → {label in its files → label in `labels`}, for domains with own label names.
    """

    def __init__(
        self,
        labels: list[str],
        truncation: str = "head",
        head_fraction: float = 0.25,
        label_map: dict[str, dict[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        if truncation not in TRUNCATIONS:
            raise DataError(f"task.truncation must be one of {TRUNCATIONS}, got {truncation!r}")
        super().__init__(label_space=LabelSpace(labels, label_map), **kwargs)
        self.truncation = truncation
        self.head_fraction = head_fraction

    def _read(self, path: Path, with_labels: bool) -> tuple[list[str], list[str] | None]:
        return read_classification_split(path, with_labels=with_labels)

    def _load(
        self, path: Path, domain: str, with_labels: bool, limit: int | None
    ) -> tuple[TokenizedDataset, set[str] | None]:
        texts, labels = self._read(path, with_labels)
        tokens = cached_tokenize(
            path, texts, self.tokenizer, self.max_length, self.cache_dir, self.truncation, self.head_fraction
        )
        ids = None if labels is None else self.label_space.encode(labels, where=str(path), domain=domain)
        present = None if ids is None else {self.label_space.names[i] for i in set(ids)}
        if limit is not None:
            tokens = tokens.head(limit)
            ids = None if ids is None else ids[:limit]
        return TokenizedDataset(tokens, ids), present
