"""Tokenize a split once and keep the ids on disk, keyed by what changes them.

The key holds the tokenizer's identity, the maximum length, the truncation side and the
sha256 of the data file, so a changed file or tokenizer setting re-tokenizes and nothing
stale is ever read back. Ids are stored flat (one int32 array plus offsets) in an `.npz`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from nlp_transfer.data.jsonl import file_checksum


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """A stable description of a tokenizer: class, source, vocabulary size and special tokens."""
    parts = {
        "class": type(tokenizer).__name__,
        "name_or_path": str(getattr(tokenizer, "name_or_path", "")),
        "vocab_size": len(tokenizer),
        "cls": getattr(tokenizer, "cls_token_id", None),
        "sep": getattr(tokenizer, "sep_token_id", None),
        "pad": getattr(tokenizer, "pad_token_id", None),
    }
    return json.dumps(parts, sort_keys=True)


class TokenizedTexts:
    """Token ids of many texts, stored flat: `ids[offsets[i]:offsets[i+1]]` is text i."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray) -> None:
        self.ids = ids
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> np.ndarray:
        return self.ids[self.offsets[index] : self.offsets[index + 1]]

    def head(self, count: int) -> TokenizedTexts:
        """The first `count` texts (split files are already shuffled, so this is a fair slice)."""
        count = min(count, len(self))
        return TokenizedTexts(self.ids[: self.offsets[count]], self.offsets[: count + 1])

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @classmethod
    def from_lists(cls, sequences: list[list[int]]) -> TokenizedTexts:
        lengths = np.fromiter((len(seq) for seq in sequences), dtype=np.int64, count=len(sequences))
        offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.fromiter((tok for seq in sequences for tok in seq), dtype=np.int32, count=int(offsets[-1]))
        return cls(flat, offsets)


def tokenize(texts: list[str], tokenizer: Any, max_length: int, batch_size: int = 1024) -> TokenizedTexts:
    """Tokenize with special tokens and truncation; the tokenizer's truncation side applies."""
    sequences: list[list[int]] = []
    for start in range(0, len(texts), batch_size):
        encoded = tokenizer(
            texts[start : start + batch_size], truncation=True, max_length=max_length, add_special_tokens=True
        )
        sequences.extend(encoded["input_ids"])
    return TokenizedTexts.from_lists(sequences)


def cached_tokenize(
    path: Path,
    texts: list[str],
    tokenizer: Any,
    max_length: int,
    cache_dir: str | Path | None,
) -> TokenizedTexts:
    """Tokenize `texts` read from `path`, reusing an on-disk cache when the key matches.

    `cache_dir=None` disables the cache. Writes are atomic (temp file + rename), so two
    jobs of a sweep tokenizing the same file never read a half-written cache.
    """
    if cache_dir is None:
        return tokenize(texts, tokenizer, max_length)
    key_source = json.dumps(
        {
            "tokenizer": tokenizer_fingerprint(tokenizer),
            "max_length": max_length,
            "truncation_side": getattr(tokenizer, "truncation_side", "right"),
            "file_sha256": file_checksum(path),
            "format": 1,
        },
        sort_keys=True,
    )
    key = hashlib.sha256(key_source.encode()).hexdigest()[:24]
    cache_file = Path(cache_dir) / "tokens" / f"{path.parent.name}-{path.stem}-{key}.npz"
    if cache_file.is_file():
        with np.load(cache_file) as stored:
            return TokenizedTexts(stored["ids"], stored["offsets"])
    result = tokenize(texts, tokenizer, max_length)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, ids=result.ids, offsets=result.offsets)
    os.replace(tmp, cache_file)
    return result
