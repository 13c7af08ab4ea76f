"""Datasets of token ids and the collator that pads each batch to its own longest sequence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import Dataset

from nlp_transfer.data.tokenization import TokenizedTexts


class TokenizedDataset(Dataset):
    """Examples as {"input_ids": ids, "labels": id}; unlabeled datasets carry no `labels` key at all."""

    def __init__(self, tokens: TokenizedTexts, labels: Sequence[int] | None = None) -> None:
        if labels is not None and len(labels) != len(tokens):
            raise ValueError(f"{len(labels)} labels for {len(tokens)} texts")
        self.tokens = tokens
        self.labels = None if labels is None else torch.as_tensor(labels, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item: dict[str, Any] = {"input_ids": self.tokens[index]}
        if self.labels is not None:
            item["labels"] = self.labels[index]
        return item


class PaddingCollator:
    """Dynamic padding: pad to the longest sequence in the batch, not to `max_length`."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        longest = max(len(item["input_ids"]) for item in items)
        input_ids = torch.full((len(items), longest), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(items), longest), dtype=torch.long)
        for row, item in enumerate(items):
            ids = torch.from_numpy(item["input_ids"].astype("int64", copy=False))
            input_ids[row, : len(ids)] = ids
            attention_mask[row, : len(ids)] = 1
        batch = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "labels" in items[0]:
            batch["labels"] = torch.stack([item["labels"] for item in items])
        return batch
