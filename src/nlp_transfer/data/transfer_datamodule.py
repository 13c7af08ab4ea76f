"""The DataModule shape every task shares: a source → target pair over one task's named domains.

It offers what a transfer strategy may use and nothing more:

* labeled **source** train and validation,
* **unlabeled target** train (only when `with_target_unlabeled` is set, for adaptation): built
  without labels, so target labels cannot reach a training step,
* labeled evaluation on source test and target test (in that order), or on the test split of each
  of `test_domains` (for `evaluate_on=all_domains`: a model that never saw the target, tested everywhere).

It never knows which strategy consumes it; `train.py` tells it whether target text is wanted.

Several sources (`source=[books, dvd, electronics]`, multi-source adaptation) are pooled: source train
is one dataset whose training batches hold an equal share of every source (data/balanced_sources.py)
and carry each text's `source_index`; source validation and source test are the sources' splits pooled
(so `source/val/*`, which picks the checkpoint, is the mean over all source-validation texts). `source`
is then the name `books+dvd+electronics`, `sources` the list; `max_*_examples` cut each source's split.

Subclasses say how one split file becomes a dataset (`_load`) and which labels exist.
A domain is a folder of the JSONL layout (`<data_dir>/<domain>/<split>.jsonl`) or, when `sources` names it,
read through Hugging Face `datasets` and converted into that layout in the cache (data/datasets_source.py).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, ClassVar

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import CombinedLoader
from torch.utils.data import DataLoader, SequentialSampler

from nlp_transfer.data.balanced_sources import BalancedSourceBatchSampler
from nlp_transfer.data.bucketing import EpochShuffle, LengthGroupedBatchSampler, LengthSortedBatchSampler
from nlp_transfer.data.collate import PaddingCollator, TokenizedDataset, pooled_dataset
from nlp_transfer.data.datasets_conversion import converted_split, datasets_cache_root
from nlp_transfer.data.datasets_source import parse_sources
from nlp_transfer.data.errors import DataError
from nlp_transfer.data.jsonl import file_checksum, split_path
from nlp_transfer.data.label_space import LabelSpace
from nlp_transfer.data.resumable_loader import ResumableLoader
from nlp_transfer.results.domain_metrics import domain_test_split
from nlp_transfer.source_domains import SourceDomainsError, checked_sources, source_name

#: the source splits a run reads; with several sources each is read per source, then pooled
SOURCE_SPLITS = {"source_train": "train", "source_val": "validation", "source_test": "test"}


def discover_domains(data_dir: Path) -> list[str]:
    """Folders of a task's data directory that hold a `train.jsonl`: a new domain needs no code or yaml."""
    if not data_dir.is_dir():
        return []
    return sorted(p.name for p in data_dir.iterdir() if (p / "train.jsonl").is_file())


class TransferDataModule(pl.LightningDataModule):
    """Loaders for one domain pair; subclasses implement `_load` and set `label_space`."""

    #: the task level's name, `sequence` (one label per text) or `token` (one label per word); strategies
    #: take it (a string, so it goes into hparams and checkpoints) and ask `task_level` for the behaviour
    level: ClassVar[str] = "sequence"

    @property
    def task_level(self) -> Any:
        """The level object (strategies/task_level.py): metrics, rows, pooling rule, predictions."""
        from nlp_transfer.strategies.task_level import task_level

        return task_level(self.level)

    def __init__(
        self,
        name: str,
        data_dir: str,
        domains: list[str],
        source: str | list[str],
        target: str,
        tokenizer: Any,
        label_space: LabelSpace,
        max_length: int = 256,
        batch_size: int = 16,
        eval_batch_size: int = 64,
        num_workers: int = 0,
        cache_dir: str | None = None,
        with_target_unlabeled: bool = False,
        max_train_examples: int | None = None,
        max_eval_examples: int | None = None,
        selection_metric: str = "source/val/acc",
        length_grouping: bool = True,
        test_domains: list[str] | None = None,
        sort_eval_by_length: bool = True,
        sources: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.sources = source_domains(source, target)
        domains = self._locate_domains(name, data_dir, domains, sources, (self.sources, target, test_domains))
        check_example_limits(max_train_examples, max_eval_examples)
        self.name = name
        self.domains = domains
        self.target = target
        self.tokenizer = tokenizer
        self.label_space = label_space
        self.max_length = max_length
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.num_workers = num_workers
        self.cache_dir = cache_dir
        self.with_target_unlabeled = with_target_unlabeled
        self.max_train_examples = max_train_examples
        self.max_eval_examples = max_eval_examples
        self.selection_metric = selection_metric
        self.length_grouping = length_grouping
        self.sort_eval_by_length = sort_eval_by_length
        self.test_domains = None if test_domains is None else list(dict.fromkeys(test_domains))
        self.collator = PaddingCollator(tokenizer.pad_token_id)
        self.datasets: dict[str, TokenizedDataset] = {}
        self.checksums: dict[str, str] = {}
        self.labels_present: dict[str, set[str]] = {}  # dataset key → label names in its whole file (setup)
        self._check_files()

    def _locate_domains(
        self,
        name: str,
        data_dir: str,
        domains: list[str],
        sources: dict[str, Any] | None,
        roles: tuple[list[str], str, list[str] | None],
    ) -> list[str]:
        """Set where the data lives, `data_dir` (the JSONL layout) and `sources` (domain → read through
        `datasets`); returns the task's domains, with the run's source, target and test domains checked."""
        self.data_dir = Path(os.path.normpath(os.path.expanduser(data_dir)))
        self.dataset_sources = parse_sources(sources)
        self._split_files: dict[tuple[str, str], Path] = {}
        return checked_domains(name, self.data_dir, [*domains, *self.dataset_sources], *roles)

    @property
    def source(self) -> str:
        """The source's name: `books`, or `books+dvd+electronics` for pooled sources (see `sources`)."""
        return source_name(self.sources)

    @property
    def num_labels(self) -> int:
        return len(self.label_space)

    @property
    def label_names(self) -> list[str]:
        return list(self.label_space.names)

    def _files(self) -> dict[str, tuple[str, str]]:
        """Dataset key → (domain, split) for everything this run reads."""
        files = {}
        for key, split in SOURCE_SPLITS.items():
            if len(self.sources) == 1:
                files[key] = (self.source, split)
            else:  # read per source, pooled in `setup`
                files |= {f"{key}@{domain}": (domain, split) for domain in self.sources}
        files["target_test"] = (self.target, "test")
        for domain in self.test_domains or ():
            files.setdefault(self._test_key(domain), (domain, "test"))
        if self.with_target_unlabeled:
            files["target_unlabeled"] = (self.target, "train")
        return files

    def _test_key(self, domain: str) -> str:
        """Dataset key of a domain's test split: the pair's own keep theirs, so no file is read twice."""
        return {self.target: "target_test", self.source: "source_test"}.get(domain, f"test/{domain}")

    @property
    def test_split_names(self) -> list[str]:
        """Log prefix of each test loader, in order: `source/test`, `target/test`, or one per test domain."""
        if self.test_domains is None:
            return ["source/test", "target/test"]
        return [domain_test_split(domain) for domain in self.test_domains]

    def _check_files(self) -> None:
        """Fail at construction, before any model is built, if a split file is missing (or a `datasets`
        source does not convert). The target's train file counts for every strategy: the label-free
        validators read it unlabeled."""
        for domain, split in [*self._files().values(), (self.target, "train")]:
            self.split_file(domain, split)

    def split_file(self, domain: str, split: str) -> Path:
        """The JSONL file of one split: the layout's, or the one a `datasets` source was converted into."""
        if domain not in self.dataset_sources:
            return split_path(self.data_dir, domain, split)
        if (domain, split) not in self._split_files:
            spec, cache_root = self.dataset_sources[domain], datasets_cache_root(self.cache_dir)
            converted = converted_split(spec, split, self.level, self.label_space, cache_root)
            self._split_files[domain, split] = converted
        return self._split_files[domain, split]

    def _read(self, path: Path, with_labels: bool) -> Any:
        """Parse and check one split file, no tokenization: a bad line fails naming file and line."""
        raise NotImplementedError

    def _load(
        self, path: Path, domain: str, with_labels: bool, limit: int | None
    ) -> tuple[TokenizedDataset, set[str] | None]:
        """One split file → (dataset, the label names in the whole file, or None when unlabeled)."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        for key, (domain, split) in self._files().items():
            path = self.split_file(domain, split)
            self.checksums[f"{domain}/{split}"] = file_checksum(path)
            limit = self.max_train_examples if split == "train" else self.max_eval_examples
            dataset, labels = self._load(path, domain, with_labels=key != "target_unlabeled", limit=limit)
            self.datasets[key] = dataset
            if labels is not None:
                self.labels_present[key] = labels
        if len(self.sources) > 1:
            self._pool_sources()
        if not self.with_target_unlabeled:  # read and checked now, tokenized only if a validator needs it
            self._read(self.split_file(self.target, "train"), with_labels=False)
        self._check_label_sets()

    def _pool_sources(self) -> None:
        """Several sources: each source split becomes one dataset; training texts keep their source index.
        A pooled split's checksum (`books+dvd/test`, keying its prediction file) hashes its files' ones."""
        for key, split in SOURCE_SPLITS.items():
            joined = "+".join(self.checksums[f"{domain}/{split}"] for domain in self.sources)
            self.checksums[f"{self.source}/{split}"] = hashlib.sha256(joined.encode()).hexdigest()
            parts = [self.datasets.pop(f"{key}@{domain}") for domain in self.sources]
            self.datasets[key] = pooled_dataset(parts, with_source_index=key == "source_train")
            present = [self.labels_present.pop(f"{key}@{domain}", set()) for domain in self.sources]
            self.labels_present[key] = set().union(*present)

    def _check_label_sets(self) -> None:
        """A tested domain may not hold labels the source never shows: that is a label-set mismatch."""
        source = self.labels_present.get("source_train", set())
        tested = {"target_test": self.target} | {self._test_key(d): d for d in self.test_domains or ()}
        for key, domain in tested.items():
            target = self.labels_present.get(key, set()) if key != "source_test" else set()
            if target - source:
                raise DataError(
                    f"Label sets differ: source {self.source!r} has {sorted(source)}, target {domain!r} has "
                    f"{sorted(target)}; {sorted(target - source)} never occur in the source. Map the domains "
                    f"onto one shared label set with task.label_map (as conf/task/ner.yaml does)."
                )

    def _loader(self, key: str, train: bool, limit: int | float | None = None) -> DataLoader:
        """Training: shuffled (length-grouped by default). Evaluation: big batches, sorted by length
        (longest first) unless `sort_eval_by_length=false`, which keeps file order; `limit`: the
        trainer's limit_{val,test}_batches, so a limited evaluation reads the same examples either way."""
        dataset = self.datasets[key]
        common = {"num_workers": self.num_workers, "collate_fn": self.collator}
        common["persistent_workers"] = self.num_workers > 0
        # own generators, never the global RNG: a run resumed at epoch k then replays exactly the
        # batches (and dropout draws) of the uninterrupted run; see data/bucketing.py
        common["generator"] = torch.Generator().manual_seed(torch.initial_seed())
        epoch = self.trainer.current_epoch if self.trainer is not None else 0
        # training loaders save their place in the epoch, so a mid-epoch resume goes on from that batch
        if train and key == "source_train" and len(self.sources) > 1:
            sampler = self._balanced_sampler(dataset, epoch)
            return ResumableLoader(dataset, batch_sampler=sampler, **common)
        if train and self.length_grouping:
            sampler = LengthGroupedBatchSampler(dataset.tokens.lengths(), self.batch_size, epoch=epoch)
            return ResumableLoader(dataset, batch_sampler=sampler, **common)
        if train:
            shuffle = EpochShuffle(len(dataset), epoch=epoch)
            return ResumableLoader(dataset, batch_size=self.batch_size, sampler=shuffle, **common)
        return self._eval_loader(dataset, common, limit)

    def _balanced_sampler(self, dataset: TokenizedDataset, epoch: int) -> BalancedSourceBatchSampler:
        """Every training batch of pooled sources holds an equal share of each (data/balanced_sources.py)."""
        lengths, index = dataset.tokens.lengths(), dataset.source_index
        per_source = [lengths[(index == s).numpy()] for s in range(len(self.sources))]
        try:
            return BalancedSourceBatchSampler(per_source, self.batch_size, self.length_grouping, epoch=epoch)
        except ValueError as err:
            raise DataError(str(err)) from None

    def _eval_loader(
        self, dataset: TokenizedDataset, common: dict[str, Any], limit: int | float | None
    ) -> DataLoader:
        """Per-example outputs leave it out of file order when sorted; the test-prediction files put
        them back by the sampler's indices, and split metrics do not depend on order."""
        if not self.sort_eval_by_length:
            return DataLoader(dataset, batch_size=self.eval_batch_size, shuffle=False, **common)
        lengths = dataset.tokens.lengths()
        sampler = LengthSortedBatchSampler(SequentialSampler(dataset), lengths, self.eval_batch_size, limit)
        return DataLoader(dataset, batch_sampler=sampler, **common)

    def train_dataloader(self) -> CombinedLoader:
        """Batches are dicts: {"source": labeled batch} plus {"target": unlabeled batch} for adaptation."""
        loaders = {"source": self._loader("source_train", train=True)}
        if self.with_target_unlabeled:
            loaders["target"] = self._loader("target_unlabeled", train=True)
        return CombinedLoader(loaders, mode="max_size_cycle")

    def _limit(self, stage: str) -> int | float | None:
        """The trainer's `limit_<stage>_batches` (None without a trainer: everything is read)."""
        return getattr(self.trainer, f"limit_{stage}_batches", None) if self.trainer is not None else None

    def val_dataloader(self) -> DataLoader:
        return self._loader("source_val", train=False, limit=self._limit("val"))

    def test_dataloader(self) -> list[DataLoader]:
        """Source test, then target test (logged as `source/test/*` and `target/test/*`); with
        `test_domains`, one loader per domain instead (named by `test_split_names`)."""
        if self.test_domains is not None:
            keys = [self._test_key(domain) for domain in self.test_domains]
        else:
            keys = ["source_test", "target_test"]
        return [self._loader(key, train=False, limit=self._limit("test")) for key in keys]

    def selection_dataloaders(
        self, target_unlabeled_size: int = 512, oracle_max_examples: int | None = None
    ) -> dict[str, DataLoader]:
        """Loaders for label-free model selection (nlp_transfer.selection), for every strategy.

        `source_val` (labeled), `target_unlabeled`: the first `target_unlabeled_size` texts of the
        target's train file read WITHOUT labels (so a validator cannot see one), and `target_test`
        (labeled, only for the oracle row, never for a choice; its first `oracle_max_examples` examples
        when capped). Evaluation order, no shuffling.
        """
        if target_unlabeled_size <= 0:
            raise DataError(f"selection.target_unlabeled_size must be positive, got {target_unlabeled_size}")
        if oracle_max_examples is not None and oracle_max_examples <= 0:
            raise DataError(
                f"selection.oracle_max_examples must be positive or null (all), got {oracle_max_examples}"
            )
        limit = min(target_unlabeled_size, self.max_train_examples or target_unlabeled_size)
        key = f"selection_target_unlabeled_{limit}"
        if key not in self.datasets:
            path = self.split_file(self.target, "train")
            self.checksums[f"{self.target}/train"] = file_checksum(path)
            self.datasets[key], _ = self._load(path, self.target, with_labels=False, limit=limit)
        test_key = "target_test"
        if oracle_max_examples is not None and oracle_max_examples < len(self.datasets["target_test"]):
            test_key = f"selection_target_test_{oracle_max_examples}"
            if test_key not in self.datasets:
                path = self.split_file(self.target, "test")
                self.datasets[test_key], _ = self._load(path, self.target, True, limit=oracle_max_examples)
        return {
            "source_val": self._loader("source_val", train=False, limit=self._limit("val")),
            "target_unlabeled": self._loader(key, train=False),
            "target_test": self._loader(test_key, train=False),
        }


def source_domains(source: str | list[str], target: str) -> list[str]:
    """The run's source domains (one, or several to pool); an empty or repeated list, or the target among
    several sources, fails here (nlp_transfer.source_domains)."""
    try:
        return checked_sources(source, target)
    except SourceDomainsError as err:
        raise DataError(str(err)) from None


def checked_domains(
    task: str,
    data_dir: Path,
    configured: list[str],
    sources: list[str],
    target: str,
    test_domains: list[str] | None,
) -> list[str]:
    """The task's domains (configured, then any other folder found in `data_dir`), with the run's sources,
    target and test domains checked to be among them: a typo fails here, naming the choices."""
    configured = list(dict.fromkeys(configured))  # a domain both listed and given a `datasets` source
    domains = configured + [d for d in discover_domains(data_dir) if d not in configured]
    for role, domain in [*(("source", source) for source in sources), ("target", target)]:
        if domain not in domains:
            raise DataError(
                f"Unknown {role} domain {domain!r} for task {task!r}; choose one of {domains} "
                f"(e.g. `domain.{role}={domains[0]}`), or add a folder {data_dir / domain}/ "
                f"with train/validation/test.jsonl."
            )
    unknown = [d for d in test_domains or () if d not in domains]
    if unknown:
        raise DataError(f"test_domains {unknown} are not domains of task {task!r}; choose from {domains}")
    return domains


def check_example_limits(*limits: int | None) -> None:
    """`max_train_examples`/`max_eval_examples` cut splits to a prefix; zero or less would empty them."""
    for limit in limits:
        if limit is not None and limit <= 0:
            raise DataError(f"Example limits must be positive, got {limit}")
