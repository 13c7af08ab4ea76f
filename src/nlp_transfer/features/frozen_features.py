"""A frozen encoder's features, encoded once per dataset and looked up by example (no callback).

A frozen encoder in eval mode gives the same features every epoch, so re-encoding every batch spends
almost all of a feature-extraction run on identical work. The strategy that owns a `FrozenFeatures`
calls `prepare` at the start of each stage (fit, validate, test, predict) with the stage's loaders:
every dataset behind them is encoded once under `torch.inference_mode` (shortest texts first, so little
padding) or read back from `<cache_dir>/features/<key>.pt`. Its steps then call `features(batch, encode)`,
which looks the batch's rows up by their token ids and encodes only batches the store has not seen
(e.g. a validator's own slice), remembering them in memory.

The file key (`store.table_key`) holds everything that changes the features:
* the module's signature: backbone name, config, a weights fingerprint, pooling, layers, level;
* the trainer's precision (autocast changes the numbers);
* the sha256 of the dataset's token ids, which the data file's content, the slice, the tokenizer,
  `max_length` and truncation all determine, so a change to any of them recomputes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from nlp_transfer.features.store import FeatureStore, FeatureTable, sequences_digest, table_key

#: a batch ({"input_ids", "attention_mask"}, padded) → features (batch, hidden) or (batch, seq, hidden)
Encode = Callable[[dict[str, torch.Tensor]], torch.Tensor]


def dataloaders_in(loaders: Any) -> Iterator[Any]:
    """Every DataLoader inside what a Trainer holds (a loader, a list, a dict, a CombinedLoader)."""
    if loaders is None:
        return
    if hasattr(loaders, "flattened"):
        loaders = loaders.flattened
    if isinstance(loaders, dict):
        loaders = list(loaders.values())
    if isinstance(loaders, list | tuple):
        for loader in loaders:
            yield from dataloaders_in(loader)
    elif hasattr(loaders, "dataset"):
        yield loaders


def example_rows(out: torch.Tensor, attention_mask: torch.Tensor) -> list[torch.Tensor]:
    """One batch's encoder output split per example, as a table stores it: (1, hidden) per text from
    (batch, hidden), or each text's real tokens' (tokens, hidden) rows from (batch, seq, hidden)."""
    if out.dim() == 3:
        mask = attention_mask.bool()
        return [out[r][mask[r]] for r in range(len(out))]
    return [out[r : r + 1] for r in range(len(out))]


class FrozenFeatures:
    """The features of one frozen encoder over every dataset it was prepared for (one per module).

    Args:
        cache_dir: root of the on-disk cache (`paths.cache_dir`); tables go to `<cache_dir>/features/`.
            None keeps them in memory only (still one encoding per dataset per run).
        batch_size: examples per encoder call while encoding a dataset.

    `encoded_examples` and `loaded_examples` count what was encoded and what was read back from disk.
    """

    def __init__(self, cache_dir: str | Path | None = None, batch_size: int = 64) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.store = FeatureStore(Path(cache_dir) / "features" if cache_dir is not None else None)
        self.batch_size = batch_size
        self.encoded_examples = 0
        self._signature: str | None = None  # the module signature + precision the store holds features of
        self._sequences: dict[int, tuple[Any, list[Any], str]] = {}  # id(dataset) → (dataset, ids, digest)

    @property
    def loaded_examples(self) -> int:
        return self.store.loaded_examples

    def check_signature(self, module_signature: dict[str, Any], precision: str | None = None) -> str:
        """Forget every table in memory if the module's features changed (other weights, pooling, ...).

        Called at every `prepare` and by the module after `load_state_dict`; `precision=None` keeps
        the last known precision. Returns the signature the store now holds features of.
        """
        if precision is None:
            precision = json.loads(self._signature)["precision"] if self._signature else "unknown"
        signature = json.dumps({"module": module_signature, "precision": precision}, sort_keys=True)
        if signature != self._signature:
            self.store.clear()
            self._signature = signature
        return signature

    def prepare(
        self,
        loaders: Any,
        encode: Encode,
        module_signature: dict[str, Any],
        precision: str = "32-true",
        device: torch.device | str = "cpu",
        autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    ) -> None:
        """Make the features of every dataset behind `loaders` findable: from memory, disk or `encode`
        (run on `device` inside `autocast()`, the trainer's precision context, named by `precision`)."""
        signature = self.check_signature(module_signature, precision)
        for loader in dataloaders_in(loaders):
            sequences, digest = self._dataset_sequences(loader.dataset)
            key = table_key(signature, digest)
            if key in self.store:
                continue
            table = self.store.read(key, len(sequences))
            if table is None:
                table = self._encode(loader, sequences, encode, device, autocast)
                meta = {"signature": signature, "data": digest, "examples": len(sequences)}
                self.store.write(key, table, meta)
            self.store.add(table, sequences, key)

    def features(self, batch: dict[str, torch.Tensor], encode: Encode) -> torch.Tensor:
        """The batch's features from the store, or from `encode` (without gradients) when a row is
        unknown; those are remembered in memory, so the same texts are not encoded twice in this run."""
        stored = self.store.gather(batch["input_ids"], batch["attention_mask"])
        if stored is not None:
            return stored
        with torch.no_grad():
            features = encode(batch)
        mask = batch["attention_mask"].detach().cpu().bool()
        ids, rows = batch["input_ids"].detach().cpu(), features.detach().cpu()
        table = FeatureTable.from_examples(example_rows(rows, mask), token_level=rows.dim() == 3)
        self.store.add(table, [ids[r][mask[r]] for r in range(len(mask))])
        return features

    def _dataset_sequences(self, dataset: Any) -> tuple[list[Any], str]:
        """Every example's token ids and their digest, read once per dataset object."""
        known = self._sequences.get(id(dataset))
        if known is not None and known[0] is dataset:
            return known[1], known[2]
        sequences = [dataset[i]["input_ids"] for i in range(len(dataset))]
        digest = sequences_digest(sequences)
        self._sequences[id(dataset)] = (dataset, sequences, digest)
        return sequences, digest

    def _encode(
        self, loader: Any, sequences: list[Any], encode: Encode, device: Any, autocast: Callable[[], Any]
    ) -> FeatureTable:
        """One pass of `encode` over a dataset's texts that are not in memory yet (e.g. a validator
        already encoded them), shortest first, in `batch_size` chunks; token level keeps real tokens."""
        per_example: list[torch.Tensor | None] = [self.store.rows_of(ids) for ids in sequences]
        missing = sorted(
            (i for i, rows in enumerate(per_example) if rows is None), key=lambda i: len(sequences[i])
        )
        token_level = self.store.token_level
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            batch = loader.collate_fn([loader.dataset[i] for i in chunk])
            batch = {k: batch[k].to(device) for k in ("input_ids", "attention_mask")}
            with torch.inference_mode(), autocast():
                out = encode(batch)
            token_level = out.dim() == 3
            for index, rows in zip(chunk, example_rows(out, batch["attention_mask"]), strict=True):
                per_example[index] = rows
        self.encoded_examples += len(missing)
        return FeatureTable.from_examples(per_example, bool(token_level))  # type: ignore[arg-type]
