"""Datasets of token ids and the collator that pads each batch to its own longest sequence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import Dataset

from nlp_transfer.data.tokenization import TokenizedTexts

IGNORE_INDEX = -100


class TokenizedDataset(Dataset):
    """Examples as {"input_ids": ids, "labels": ...}; unlabeled datasets carry no `labels` key at all.

    `labels` is one id per text (classification) or a `TokenizedTexts` of one id per sub-token
    (token classification), aligned with `tokens`. `source_index` (pooled multi-source training data
    only): which of the run's source domains each text comes from, batched as `source_index`.
    `word_starts` (token classification, labeled or not): 1 at each word's first sub-token, aligned with
    `tokens`, batched as `word_starts`; it comes from the tokenizer's word alignment, never from labels.
    """

    def __init__(
        self,
        tokens: TokenizedTexts,
        labels: Sequence[int] | TokenizedTexts | None = None,
        source_index: Sequence[int] | None = None,
        word_starts: TokenizedTexts | None = None,
    ) -> None:
        if labels is not None and len(labels) != len(tokens):
            raise ValueError(f"{len(labels)} labels for {len(tokens)} texts")
        if word_starts is not None and len(word_starts) != len(tokens):
            raise ValueError(f"{len(word_starts)} word-start rows for {len(tokens)} texts")
        if source_index is not None and len(source_index) != len(tokens):
            raise ValueError(f"{len(source_index)} source indices for {len(tokens)} texts")
        self.tokens = tokens
        if labels is None or isinstance(labels, TokenizedTexts):
            self.labels = labels
        else:
            self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.source_index = None if source_index is None else torch.as_tensor(source_index, dtype=torch.long)
        self.word_starts = word_starts

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item: dict[str, Any] = {"input_ids": self.tokens[index]}
        if self.labels is not None:
            item["labels"] = self.labels[index]
        if self.source_index is not None:
            item["source_index"] = self.source_index[index]
        if self.word_starts is not None:
            item["word_starts"] = self.word_starts[index]
        return item


def pooled_dataset(parts: Sequence[TokenizedDataset], with_source_index: bool) -> TokenizedDataset:
    """The datasets of several source domains as one, in order (source s's texts follow source s−1's).

    With `with_source_index` every text carries the position of its part (its source domain).
    """
    tokens = TokenizedTexts.concatenate([part.tokens for part in parts])
    labeled = [part.labels for part in parts if part.labels is not None]
    labels: torch.Tensor | TokenizedTexts | None = None
    if len(labeled) == len(parts) and parts:
        if isinstance(labeled[0], TokenizedTexts):
            labels = TokenizedTexts.concatenate(labeled)  # type: ignore[arg-type]
        else:
            labels = torch.cat(labeled)  # type: ignore[arg-type]
    index = [s for s, part in enumerate(parts) for _ in range(len(part))] if with_source_index else None
    starts = [part.word_starts for part in parts if part.word_starts is not None]
    word_starts = TokenizedTexts.concatenate(starts) if parts and len(starts) == len(parts) else None
    return TokenizedDataset(tokens, labels, index, word_starts)


class PaddingCollator:
    """Dynamic padding: pad to the longest sequence in the batch, not to `max_length`.

    Per-token labels are padded with `IGNORE_INDEX`, so padding never enters a loss or a metric;
    word starts (bool) with False, so padding is never a word.
    """

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
            first = items[0]["labels"]
            if isinstance(first, torch.Tensor):
                batch["labels"] = torch.stack([item["labels"] for item in items])
            else:
                labels = torch.full((len(items), longest), IGNORE_INDEX, dtype=torch.long)
                for row, item in enumerate(items):
                    labels[row, : len(item["labels"])] = torch.from_numpy(item["labels"].astype("int64"))
                batch["labels"] = labels
        if "word_starts" in items[0]:
            starts = torch.zeros((len(items), longest), dtype=torch.bool)
            for row, item in enumerate(items):
                starts[row, : len(item["word_starts"])] = torch.from_numpy(item["word_starts"] != 0)
            batch["word_starts"] = starts
        if "source_index" in items[0]:
            batch["source_index"] = torch.stack([item["source_index"] for item in items])
        return batch
