"""The DataModule for text classification under domain shift (sentiment; later emotion and topic).

It offers what a transfer strategy may use and nothing more:

* labeled **source** train and validation,
* **unlabeled target** train (only when `with_target_unlabeled` is set, for adaptation):
  its dataset is built without labels, so target labels cannot reach a training step,
* labeled evaluation on source test and target test.

It never knows which strategy consumes it; `train.py` tells it whether target text is wanted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.utilities import CombinedLoader
from torch.utils.data import DataLoader

from nlp_transfer.data.collate import PaddingCollator, TokenizedDataset
from nlp_transfer.data.errors import DataError
from nlp_transfer.data.jsonl import file_checksum, read_classification_split, split_path
from nlp_transfer.data.label_space import LabelSpace
from nlp_transfer.data.tokenization import cached_tokenize


class ClassificationDataModule(pl.LightningDataModule):
    """Source → target text classification over one task's named domains."""

    def __init__(
        self,
        name: str,
        data_dir: str,
        domains: list[str],
        labels: list[str],
        source: str,
        target: str,
        tokenizer: Any,
        max_length: int = 256,
        truncation_side: str = "right",
        batch_size: int = 16,
        eval_batch_size: int = 64,
        num_workers: int = 0,
        cache_dir: str | None = None,
        with_target_unlabeled: bool = False,
        max_train_examples: int | None = None,
        max_eval_examples: int | None = None,
    ) -> None:
        super().__init__()
        for role, domain in (("source", source), ("target", target)):
            if domain not in domains:
                raise DataError(
                    f"Unknown {role} domain {domain!r} for task {name!r}; choose one of {list(domains)} "
                    f"(e.g. `domain.{role}={domains[0]}`)."
                )
        if truncation_side not in ("right", "left"):
            raise DataError(
                f"truncation_side must be 'right' (keep the head) or 'left', got {truncation_side!r}"
            )
        self.name = name
        self.data_dir = Path(data_dir)
        self.domains = list(domains)
        self.label_space = LabelSpace(labels)
        self.source = source
        self.target = target
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.truncation_side = truncation_side
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.num_workers = num_workers
        self.cache_dir = cache_dir
        self.with_target_unlabeled = with_target_unlabeled
        self.max_train_examples = max_train_examples
        self.max_eval_examples = max_eval_examples
        self.collator = PaddingCollator(tokenizer.pad_token_id)
        self.datasets: dict[str, TokenizedDataset] = {}
        self.checksums: dict[str, str] = {}
        self._check_files()

    @property
    def num_labels(self) -> int:
        return len(self.label_space)

    def _files(self) -> dict[str, tuple[str, str]]:
        """Dataset key → (domain, split file) for everything this run reads."""
        files = {
            "source_train": (self.source, "train"),
            "source_val": (self.source, "validation"),
            "source_test": (self.source, "test"),
            "target_test": (self.target, "test"),
        }
        if self.with_target_unlabeled:
            files["target_unlabeled"] = (self.target, "train")
        return files

    def _check_files(self) -> None:
        """Fail at construction, before any model is built, if a split file is missing."""
        for domain, split in self._files().values():
            split_path(self.data_dir, domain, split)

    def _load(self, domain: str, split: str, with_labels: bool, limit: int | None) -> TokenizedDataset:
        path = split_path(self.data_dir, domain, split)
        texts, labels = read_classification_split(path, with_labels=with_labels)
        self.checksums[f"{domain}/{split}"] = file_checksum(path)
        self.tokenizer.truncation_side = self.truncation_side
        tokens = cached_tokenize(path, texts, self.tokenizer, self.max_length, self.cache_dir)
        ids = None if labels is None else self.label_space.encode(labels, where=str(path))
        if limit is not None:
            if limit <= 0:
                raise DataError(f"Example limits must be positive, got {limit}")
            tokens = tokens.head(limit)
            ids = None if ids is None else ids[:limit]
        return TokenizedDataset(tokens, ids)

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        for key, (domain, split) in self._files().items():
            labeled = key != "target_unlabeled"
            limit = self.max_train_examples if split == "train" else self.max_eval_examples
            self.datasets[key] = self._load(domain, split, with_labels=labeled, limit=limit)

    def _loader(self, key: str, train: bool) -> DataLoader:
        return DataLoader(
            self.datasets[key],
            batch_size=self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            drop_last=False,
            num_workers=self.num_workers,
            collate_fn=self.collator,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> CombinedLoader:
        """Batches are dicts: {"source": labeled batch} plus {"target": unlabeled batch} for adaptation."""
        loaders = {"source": self._loader("source_train", train=True)}
        if self.with_target_unlabeled:
            loaders["target"] = self._loader("target_unlabeled", train=True)
        return CombinedLoader(loaders, mode="max_size_cycle")

    def val_dataloader(self) -> DataLoader:
        return self._loader("source_val", train=False)

    def test_dataloader(self) -> list[DataLoader]:
        """Source test, then target test (logged as `source/test/*` and `target/test/*`)."""
        return [self._loader("source_test", train=False), self._loader("target_test", train=False)]
