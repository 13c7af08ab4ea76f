"""Encode each dataset once with a frozen encoder, keep the features on disk, and feed them to the head.

A frozen encoder in eval mode gives the same features every epoch, so re-encoding every batch spends
almost all of a feature-extraction run on identical work. This callback, at the start of each stage
(fit, validate, test, predict), encodes every dataset its loaders serve once under
`torch.inference_mode` (batches sorted by length, so little padding), writes the features to
`<cache_dir>/features/<key>.pt` and, before every batch, puts that batch's features into it under
`CACHED_FEATURES`; the module's `features()` then skips the encoder.

The file key holds everything that changes the features:
* the module's `feature_signature()`: backbone name, config, a weights fingerprint, pooling, layers, level;
* the trainer's precision (autocast changes the numbers);
* the sha256 of the dataset's token ids, which the data file's content, the slice, the tokenizer,
  `max_length` and truncation all determine, so a change to any of them recomputes.
Later epochs, later stages and later runs of a sweep with the same key read the file; a changed key
recomputes. The module must offer `encode(batch)` and `feature_signature()`
(see strategies/feature_extraction.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from nlp_transfer.callbacks.feature_store import FeatureLookup, FeatureTable, sequences_digest

log = logging.getLogger(__name__)

#: the batch key under which a batch's cached features reach the module
CACHED_FEATURES = "cached_features"
CACHE_FORMAT = 1


def _loaders(loaders: Any) -> Iterator[Any]:
    """Every DataLoader inside what the trainer holds (a loader, a list, a dict, a CombinedLoader)."""
    if loaders is None:
        return
    if hasattr(loaders, "flattened"):
        loaders = loaders.flattened
    if isinstance(loaders, dict):
        loaders = list(loaders.values())
    if isinstance(loaders, list | tuple):
        for loader in loaders:
            yield from _loaders(loader)
    elif hasattr(loaders, "dataset"):
        yield loaders


def _batch_parts(batch: Any) -> Iterator[dict]:
    """The text batches in a step's batch: the batch itself, or each role of {"source": …, "target": …}."""
    if isinstance(batch, dict) and "input_ids" in batch:
        yield batch
    elif isinstance(batch, dict):
        for part in batch.values():
            yield from _batch_parts(part)


class FeatureCache(pl.Callback):
    """Feature cache for a frozen encoder (one per run; the module attaches it via `configure_callbacks`).

    Args:
        cache_dir: root of the on-disk cache (`paths.cache_dir`); features go to `<cache_dir>/features/`.
            None keeps them in memory only (still one encoding per dataset per run).
        batch_size: examples per encoder call while filling the cache.

    Attributes `encoded_examples` and `loaded_examples` count what was computed and what was read back.
    """

    def __init__(self, cache_dir: str | Path | None = None, batch_size: int = 64) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.directory = Path(cache_dir) / "features" if cache_dir is not None else None
        self.batch_size = batch_size
        self.lookup = FeatureLookup()
        self.encoded_examples = 0
        self.loaded_examples = 0
        self._signature: str | None = None  # the module signature + precision the lookup holds features of
        self._ready: set[str] = set()  # table keys already in the lookup
        self._sequences: dict[int, tuple[Any, list[Any], str]] = {}  # id(dataset) → (dataset, ids, digest)

    # ----------------------------------------------------------------- stages
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.prepare(trainer, pl_module, trainer.train_dataloader)

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.prepare(trainer, pl_module, trainer.val_dataloaders)

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.prepare(trainer, pl_module, trainer.test_dataloaders)

    def on_predict_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.prepare(trainer, pl_module, trainer.predict_dataloaders)

    # ----------------------------------------------------------------- batches
    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._inject(batch)

    def on_validation_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int, *args: Any
    ) -> None:
        self._inject(batch)

    def on_test_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int, *args: Any
    ) -> None:
        self._inject(batch)

    def on_predict_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int, *args: Any
    ) -> None:
        self._inject(batch)

    def _inject(self, batch: Any) -> None:
        for part in _batch_parts(batch):
            features = self.lookup.gather(part["input_ids"], part["attention_mask"])
            if features is not None:  # else the module encodes this batch and calls `remember`
                part[CACHED_FEATURES] = features

    def remember(self, batch: dict, features: torch.Tensor) -> None:
        """Keep features the module had to encode itself (texts of no prepared dataset, e.g. a batch a
        validator builds), in memory only, so the same texts are not encoded twice in this run."""
        mask = batch["attention_mask"].detach().cpu().bool()
        features = features.detach().cpu()
        rows = [
            features[r][mask[r]] if features.dim() == 3 else features[r : r + 1] for r in range(len(mask))
        ]
        ids = batch["input_ids"].detach().cpu()
        self.lookup.add(
            FeatureTable.from_examples(rows, features.dim() == 3), [ids[r][mask[r]] for r in range(len(mask))]
        )

    # ----------------------------------------------------------------- filling the cache
    def prepare(self, trainer: pl.Trainer, pl_module: pl.LightningModule, loaders: Any) -> None:
        """Make the features of every dataset behind `loaders` available: from memory, disk or the encoder."""
        loaders = list(_loaders(loaders))
        if not loaders:
            return
        for method in ("encode", "feature_signature"):
            if not callable(getattr(pl_module, method, None)):
                raise TypeError(
                    f"FeatureCache needs a module with `{method}()`; {type(pl_module).__name__} has none "
                    f"(use strategy=feature_extraction, whose encoder is frozen)"
                )
        signature = self.check_signature(pl_module.feature_signature(), str(trainer.precision))
        for loader in loaders:
            dataset = loader.dataset
            sequences, digest = self._dataset_sequences(dataset)
            key = hashlib.sha256(
                json.dumps({"format": CACHE_FORMAT, "signature": signature, "data": digest}).encode()
            ).hexdigest()[:32]
            if key in self._ready:
                continue
            table = self._read(key, len(sequences))
            if table is None:
                table = self._encode(trainer, pl_module, loader, sequences)
                self._write(key, table, {"signature": signature, "data": digest, "examples": len(sequences)})
            self.lookup.add(table, sequences)
            self._ready.add(key)

    def check_signature(self, module_signature: dict[str, Any], precision: str | None = None) -> str:
        """Forget everything in memory if the module's features changed (other weights, pooling, ...).

        Called at every stage start and by the module after `load_state_dict`; `precision=None` keeps
        the last known precision. Returns the signature the cache now holds features of.
        """
        if precision is None:
            precision = json.loads(self._signature)["precision"] if self._signature else "unknown"
        signature = json.dumps({"module": module_signature, "precision": precision}, sort_keys=True)
        if signature != self._signature:
            self.lookup.clear()
            self._ready.clear()
            self._signature = signature
        return signature

    def _dataset_sequences(self, dataset: Any) -> tuple[list[Any], str]:
        """Every example's token ids and their digest, read once per dataset object."""
        known = self._sequences.get(id(dataset))
        if known is not None and known[0] is dataset:
            return known[1], known[2]
        sequences = [dataset[i]["input_ids"] for i in range(len(dataset))]
        digest = sequences_digest(sequences)
        self._sequences[id(dataset)] = (dataset, sequences, digest)
        return sequences, digest

    def _read(self, key: str, examples: int) -> FeatureTable | None:
        if self.directory is None:
            return None
        table = FeatureTable.load(self.directory / f"{key}.pt", examples)
        if table is not None:
            self.loaded_examples += examples
        return table

    def _write(self, key: str, table: FeatureTable, meta: dict[str, Any]) -> None:
        if self.directory is not None:
            table.save(self.directory / f"{key}.pt", meta)

    def _encode(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, loader: Any, sequences: list[Any]
    ) -> FeatureTable:
        """One pass of the frozen encoder over a dataset's texts that are not in memory yet (e.g. a
        validator already encoded them), shortest first, in `batch_size` chunks."""
        dataset, collate = loader.dataset, loader.collate_fn
        per_example: list[torch.Tensor | None] = [self.lookup.rows_of(ids) for ids in sequences]
        missing = sorted(
            (i for i, rows in enumerate(per_example) if rows is None), key=lambda i: len(sequences[i])
        )
        token_level = self.lookup.token_level
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            batch = collate([dataset[i] for i in chunk])
            batch = {k: batch[k].to(pl_module.device) for k in ("input_ids", "attention_mask")}
            with torch.inference_mode(), trainer.precision_plugin.forward_context():
                out = pl_module.encode(batch)  # the module keeps its frozen encoder in eval mode
            token_level = out.dim() == 3
            mask = batch["attention_mask"].bool()
            for row, index in enumerate(chunk):  # token level keeps real tokens only, no padding
                per_example[index] = out[row][mask[row]] if token_level else out[row : row + 1]
        self.encoded_examples += len(missing)
        return FeatureTable.from_examples(per_example, bool(token_level))  # type: ignore[arg-type]
