"""Frozen-encoder features of many token sequences: one table per dataset on disk, one lookup in memory.

A table stores the features of a dataset's examples in dataset order, flat with offsets (as the
tokenization cache stores ids): one row per text at sequence level, one row per real token at token
level (NER), so no padding is stored. Tables are written atomically to `<directory>/<key>.pt`, the key
being a hash of what changes the features (`table_key`). The store finds a batch row's features by the
row's token ids (padding removed), so it needs no example index in the batch and any loader order works;
two texts with the same ids have the same features, because a frozen encoder in eval mode is a function
of them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nlp_transfer.data.cache_files import atomic_write

log = logging.getLogger(__name__)

#: bumped when the table format changes, so older files are recomputed
CACHE_FORMAT = 1


def sequence_key(ids: Any) -> bytes:
    """The lookup key of one sequence: its token ids as int64 bytes (numpy arrays, lists or tensors)."""
    if isinstance(ids, torch.Tensor):
        ids = ids.detach().cpu().numpy()
    return np.ascontiguousarray(ids, dtype=np.int64).tobytes()


def sequences_digest(sequences: Sequence[Any]) -> str:
    """sha256 of a dataset's token ids in order: it changes with the file, its slice, the tokenizer,
    `max_length` and truncation, i.e. with everything on the data side that changes the features."""
    digest = hashlib.sha256(len(sequences).to_bytes(8, "little"))
    for ids in sequences:
        key = sequence_key(ids)
        digest.update(len(key).to_bytes(8, "little"))
        digest.update(key)
    return digest.hexdigest()


def table_key(signature: str, digest: str) -> str:
    """The file name of a dataset's table: the model side (`signature`: encoder, layers, pooling,
    precision) and the data side (`digest` of the token ids) of everything that changes the features."""
    identity = json.dumps({"format": CACHE_FORMAT, "signature": signature, "data": digest})
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


@dataclass
class FeatureTable:
    """Features of `len(offsets) - 1` examples: example i is `rows[offsets[i]:offsets[i + 1]]`."""

    rows: torch.Tensor  # (total rows, hidden)
    offsets: torch.Tensor  # (examples + 1,), int64
    token_level: bool  # one row per real token (True) or one row per text (False)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def from_examples(cls, per_example: list[torch.Tensor], token_level: bool) -> FeatureTable:
        """Join per-example (rows, hidden) tensors, in dataset order."""
        lengths = torch.tensor([len(rows) for rows in per_example], dtype=torch.long)
        offsets = torch.zeros(len(per_example) + 1, dtype=torch.long)
        torch.cumsum(lengths, dim=0, out=offsets[1:])
        return cls(torch.cat(per_example).cpu().contiguous(), offsets, token_level)

    def save(self, path: Path, meta: dict[str, Any]) -> None:
        """Write atomically (see `nlp_transfer.data.cache_files`): parallel jobs of a sweep may write the
        same key at once, and a reader sees either no file or a whole one. An unwritable or full cache
        dir raises `CacheError` naming it, and leaves no partial file."""
        payload = {"rows": self.rows, "offsets": self.offsets, "token_level": self.token_level, "meta": meta}
        atomic_write(path, lambda handle: torch.save(payload, handle))

    @classmethod
    def load(cls, path: Path, examples: int) -> FeatureTable | None:
        """The table stored at `path`, or None when it is missing, unreadable or not `examples` long."""
        if not path.is_file():
            return None
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
            table = cls(payload["rows"], payload["offsets"], bool(payload["token_level"]))
            whole = len(table) == examples and int(table.offsets[-1]) == len(table.rows)
        except Exception as err:  # a truncated or foreign file is recomputed, never trusted
            log.warning("Recomputing the unreadable feature cache %s (%s: %s)", path, type(err).__name__, err)
            return None
        if not whole:
            log.warning("Recomputing the feature cache %s: it does not hold %d examples", path, examples)
            return None
        return table


class FeatureStore:
    """Tables on disk under `directory` (None: memory only) and, in memory, token ids → features over
    every table read, built or added so far. `loaded_examples` counts the examples read back from disk."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.loaded_examples = 0
        self._where: dict[bytes, tuple[FeatureTable, int]] = {}
        self._keys: set[str] = set()  # keys of the tables in memory

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    @property
    def token_level(self) -> bool | None:
        """Whether the stored features are per token (None while empty)."""
        for table, _ in self._where.values():
            return table.token_level
        return None

    def clear(self) -> None:
        """Forget every table in memory (the files stay: their keys tell which features they hold)."""
        self._where.clear()
        self._keys.clear()

    def read(self, key: str, examples: int) -> FeatureTable | None:
        """The table of `key` on disk if it holds `examples` whole examples, else None."""
        table = FeatureTable.load(self.directory / f"{key}.pt", examples) if self.directory else None
        if table is not None:
            self.loaded_examples += examples
        return table

    def write(self, key: str, table: FeatureTable, meta: dict[str, Any]) -> None:
        """Keep `table` on disk under `key` (atomically); nothing without a directory."""
        if self.directory is not None:
            table.save(self.directory / f"{key}.pt", meta)

    def add(self, table: FeatureTable, sequences: Sequence[Any], key: str | None = None) -> None:
        """Make `table`'s rows findable by the token ids of its examples (`sequences`, in table order)."""
        if len(sequences) != len(table):
            raise ValueError(f"{len(sequences)} sequences for a table of {len(table)} examples")
        for index, ids in enumerate(sequences):
            self._where.setdefault(sequence_key(ids), (table, index))
        if key is not None:
            self._keys.add(key)

    def rows_of(self, ids: Any) -> torch.Tensor | None:
        """The stored rows of one sequence, or None."""
        hit = self._where.get(sequence_key(ids))
        if hit is None:
            return None
        table, index = hit
        return table.rows[table.offsets[index] : table.offsets[index + 1]]

    def gather(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor | None:
        """Features of a padded batch, shaped as the encoder path gives them, or None if a row is unknown.

        Sequence level: (batch, hidden). Token level: (batch, seq, hidden), zeros at padding positions
        (padding has no label, so neither the loss nor the metric reads it).
        """
        ids, mask = input_ids.detach().cpu(), attention_mask.detach().cpu().bool()
        pieces = []
        for row in range(len(ids)):
            piece = self.rows_of(ids[row][mask[row]])
            if piece is None:  # the caller encodes this batch
                return None
            pieces.append(piece)
        if not pieces:
            return None
        if not self.token_level:
            return torch.cat(pieces).to(input_ids.device)
        out = pieces[0].new_zeros((*ids.shape, pieces[0].shape[-1]))
        for row, piece in enumerate(pieces):
            out[row, mask[row]] = piece
        return out.to(input_ids.device)
