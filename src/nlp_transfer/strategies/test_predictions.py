"""Collect a test run's per-example predictions and write one file per tested domain.

The module's test step hands every batch's logits and labels to `TestPredictions`; each row gets its
example index in the split file from the loader's own (unshuffled, possibly DDP-sharded) sampler order,
so the file never depends on batch order. Under DDP every rank collects its shard; at the end the shards
are gathered, the sampler's padding repeats dropped, and rank 0 alone writes. File format and reading:
nlp_transfer/results/predictions.py.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from nlp_transfer.distributed import gathered
from nlp_transfer.results.predictions import Predictions, prediction_file_name, write_predictions
from nlp_transfer.strategies.outputs import ModelOutputs
from nlp_transfer.strategies.task_level import TaskLevel, task_level

log = logging.getLogger(__name__)


def loader_order(loader: Any) -> list[int]:
    """The dataset indices a loader yields, in order (its batch sampler, else its sampler)."""
    sampler = loader.batch_sampler if loader.batch_sampler is not None else loader.sampler
    order: list[int] = []
    for item in sampler:
        order.extend(item if isinstance(item, list | tuple) else [item])
    return [int(i) for i in order]


def tested_domains(datamodule: Any) -> list[str]:
    """The domain of each test loader, in loader order (the pair's two, or every `test_domains`)."""
    if getattr(datamodule, "test_domains", None) is not None:
        return list(datamodule.test_domains)
    return [datamodule.source, datamodule.target]


class TestPredictions:
    """Per test loader: the rows seen so far on this rank, as (example index, gold, pred, extra)."""

    def __init__(self, trainer: Any, level: str | TaskLevel) -> None:
        loaders = trainer.test_dataloaders
        loaders = loaders if isinstance(loaders, list | tuple) else [loaders]
        self.level = task_level(level)
        self.orders = [loader_order(loader) for loader in loaders]
        self.sizes = [len(loader.dataset) for loader in loaders]
        self.rows: list[list[tuple]] = [[] for _ in loaders]

    def add(self, loader_idx: int, outputs: ModelOutputs) -> None:
        """One batch's outputs: probabilities per text, or the scored words' tags per sentence (NER)."""
        rows = self.rows[loader_idx]
        rows += self.level.prediction_rows(outputs, self.orders[loader_idx], len(rows))

    def write(self, module: Any, out_dir: Path) -> list[Path]:
        """Gather the ranks' rows (DDP) and, on rank 0, write `<out_dir>/<domain>_test.npz` per domain."""
        datamodule = getattr(module.trainer, "datamodule", None)
        if datamodule is None or not hasattr(datamodule, "checksums"):
            log.debug("No TransferDataModule: test predictions are not written")
            return []
        rows = [gathered(r) for r in self.rows]
        if not module.trainer.is_global_zero:
            return []
        written: dict[str, Path] = {}
        for domain, loader_rows, size in zip(tested_domains(datamodule), rows, self.sizes, strict=True):
            if domain in written:  # source = target: both loaders read the same file
                continue
            predictions = self._predictions(loader_rows, module, datamodule, domain, size)
            written[domain] = write_predictions(out_dir / prediction_file_name(domain), predictions)
        return list(written.values())

    def _predictions(
        self, rows: list[tuple], module: Any, datamodule: Any, domain: str, size: int
    ) -> Predictions:
        by_index = {row[0]: row for row in reversed(rows)}  # DDP pads shards with repeats: keep one
        rows = [by_index[i] for i in sorted(by_index)]
        common = {
            "task": datamodule.name, "domain": domain, "split": "test", "level": self.level.name,
            "checksum": datamodule.checksums[f"{domain}/test"], "label_names": list(module.label_names),
            "file_examples": size, "index": np.array([r[0] for r in rows], dtype=np.int64),
        }  # fmt: skip
        return self.level.predictions(rows, common, len(module.label_names))
