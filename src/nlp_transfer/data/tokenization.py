"""Tokenize a split once and keep the ids on disk, keyed by what changes them.

The key holds the tokenizer's identity, the maximum length, the truncation mode and the
sha256 of the data file, so a changed file or tokenizer setting re-tokenizes and nothing
stale is ever read back. Ids are stored flat (one int32 array plus offsets) in an `.npz`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import numpy as np

from nlp_transfer.data.cache_files import atomic_write
from nlp_transfer.data.jsonl import file_checksum

log = logging.getLogger(__name__)


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
    def concatenate(cls, parts: list[TokenizedTexts]) -> TokenizedTexts:
        """The texts of `parts`, one after another (offsets shifted by what comes before)."""
        offsets, shift = [np.zeros(1, dtype=np.int64)], 0
        for part in parts:
            offsets.append(np.asarray(part.offsets[1:], dtype=np.int64) - part.offsets[0] + shift)
            shift += int(part.offsets[-1] - part.offsets[0])
        ids = [part.ids[part.offsets[0] : part.offsets[-1]] for part in parts]
        return cls(np.concatenate(ids) if ids else np.zeros(0, dtype=np.int32), np.concatenate(offsets))

    @classmethod
    def from_lists(cls, sequences: list[list[int]]) -> TokenizedTexts:
        lengths = np.fromiter((len(seq) for seq in sequences), dtype=np.int64, count=len(sequences))
        offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.fromiter((tok for seq in sequences for tok in seq), dtype=np.int32, count=int(offsets[-1]))
        return cls(flat, offsets)


TRUNCATIONS = ("head", "tail", "head_tail")


def special_token_wrap(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special tokens a tokenizer puts before and after one text (e.g. [CLS] … [SEP], <s> … </s>).

    Read off a probe text, since not every tokenizer class exposes its template as a method.
    """
    inner = tokenizer("probe", add_special_tokens=False)["input_ids"]
    full = tokenizer("probe")["input_ids"]
    for start in range(len(full) - len(inner) + 1):
        if full[start : start + len(inner)] == inner:
            return full[:start], full[start + len(inner) :]
    raise ValueError(f"Cannot find the special-token template of {type(tokenizer).__name__}")


def tokenize(
    texts: list[str],
    tokenizer: Any,
    max_length: int,
    truncation: str = "head",
    head_fraction: float = 0.25,
    batch_size: int = 1024,
) -> TokenizedTexts:
    """Tokenize with special tokens, cutting long texts to `max_length` tokens.

    `head` keeps the beginning, `tail` the end, `head_tail` keeps `head_fraction` of the budget from
    the beginning and the rest from the end (Sun et al. 2019, "How to Fine-Tune BERT for Text
    Classification", found head+tail best on long IMDb reviews).
    """
    if truncation not in TRUNCATIONS:
        raise ValueError(f"truncation must be one of {TRUNCATIONS}, got {truncation!r}")
    sequences: list[list[int]] = []
    prefix, suffix = special_token_wrap(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    if budget <= 0:
        raise ValueError(f"max_length={max_length} leaves no room for text after the special tokens")
    head = min(budget, max(0, round(budget * head_fraction)))
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        if truncation == "head":  # the tokenizer's own (fast) truncation keeps the head
            sequences.extend(tokenizer(chunk, truncation=True, max_length=max_length)["input_ids"])
            continue
        for ids in tokenizer(chunk, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]:
            if len(ids) > budget:
                tail = budget if truncation == "tail" else budget - head
                ids = (ids[:head] if truncation == "head_tail" else []) + ids[len(ids) - tail :]
            sequences.append(prefix + ids + suffix)
    return TokenizedTexts.from_lists(sequences)


def cached_arrays(
    cache_dir: str | Path | None,
    path: Path,
    key: dict[str, Any],
    build: Callable[[], dict[str, np.ndarray]],
    required: Collection[str] = ("ids", "offsets"),
) -> dict[str, np.ndarray]:
    """Arrays derived from the data file `path`, cached under a key of `key` + the file's sha256.

    `cache_dir=None` disables the cache. Writes are atomic (see `cache_files`), so two jobs of a sweep
    preparing the same file never read a half-written cache; an unwritable or full cache dir raises
    `CacheError` naming it. A stored file that is unreadable or lacks one of `required` is rebuilt.
    """
    if cache_dir is None:
        return build()
    key_source = json.dumps({**key, "file_sha256": file_checksum(path)}, sort_keys=True, default=str)
    digest = hashlib.sha256(key_source.encode()).hexdigest()[:24]
    cache_file = Path(cache_dir) / "tokens" / f"{path.parent.name}-{path.stem}-{digest}.npz"
    stored = _read_npz(cache_file, required)
    if stored is not None:
        return stored
    arrays = build()
    atomic_write(cache_file, lambda handle: np.savez(handle, **arrays))
    return arrays


def _read_npz(cache_file: Path, required: Collection[str]) -> dict[str, np.ndarray] | None:
    """The arrays of a cache file, or None when it is missing or cannot be trusted (then it is rebuilt).

    `allow_pickle=False`: a cache file is data, never code, whoever wrote it.
    """
    if not cache_file.is_file():
        return None
    try:
        with np.load(cache_file, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except Exception as err:  # truncated, foreign or pickled content: rebuild, never crash or trust it
        log.warning("Rebuilding the unreadable cache file %s (%s: %s)", cache_file, type(err).__name__, err)
        return None
    missing = set(required) - set(arrays)
    if missing:
        log.warning("Rebuilding the cache file %s: it lacks %s", cache_file, sorted(missing))
        return None
    return arrays


def cached_tokenize(
    path: Path,
    texts: list[str],
    tokenizer: Any,
    max_length: int,
    cache_dir: str | Path | None,
    truncation: str = "head",
    head_fraction: float = 0.25,
) -> TokenizedTexts:
    """Tokenize `texts` read from `path` (see `tokenize`), reusing the on-disk cache when the key matches."""
    key = {
        "kind": "text",
        "tokenizer": tokenizer_fingerprint(tokenizer),
        "max_length": max_length,
        "truncation": truncation,
        "head_fraction": head_fraction if truncation == "head_tail" else None,
        "format": 2,
    }

    def build() -> dict[str, np.ndarray]:
        tokens = tokenize(texts, tokenizer, max_length, truncation, head_fraction)
        return {"ids": tokens.ids, "offsets": tokens.offsets}

    arrays = cached_arrays(cache_dir, path, key, build)
    return TokenizedTexts(arrays["ids"], arrays["offsets"])
