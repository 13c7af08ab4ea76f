"""Where one domain's splits come from when they are read through Hugging Face `datasets`.

A task's `sources` maps a domain to exactly one of:

* `files`: the dataset's split name → a local CSV, TSV, JSON/JSONL or Parquet file, read by `datasets`' own
  loaders (the loader follows the file's extension);
* `disk`: a folder written by `DatasetDict.save_to_disk`;
* `hub`: a dataset id on the Hugging Face Hub (with `config` and `revision`; needs the network the first
  time, then `datasets`' cache).

`splits` maps the project's split names (train, validation, test) onto the dataset's (identity by default;
for `files` and `hub`, `datasets`' slicing works, e.g. `validation: "train[90%:]"`). `text_column` and
`label_column` (classification) or `tokens_column` and `tags_column` (NER) name the columns; integer labels
become names through the column's `ClassLabel` feature or, without one, through `label_names` (in id order).
The records are then checked and cached like the JSONL layout (data/datasets_conversion.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nlp_transfer.data.errors import DataError

#: file extension → (`datasets` loader, its options); CSV cells are never turned into NaN ("NA", "null")
LOADERS: dict[str, tuple[str, dict[str, Any]]] = {
    ".csv": ("csv", {"na_filter": False}),
    ".tsv": ("csv", {"na_filter": False, "delimiter": "\t"}),
    ".json": ("json", {}),
    ".jsonl": ("json", {}),
    ".parquet": ("parquet", {}),
}
KINDS = ("files", "disk", "hub")


@dataclass(frozen=True)
class DatasetsSource:
    """One domain's source (see the module docstring); `domain` only names it in errors."""

    domain: str
    files: dict[str, str] | None = None
    disk: str | None = None
    hub: str | None = None
    config: str | None = None
    revision: str | None = None
    splits: dict[str, str] = field(default_factory=dict)
    text_column: str = "text"
    label_column: str = "label"
    tokens_column: str = "tokens"
    tags_column: str = "tags"
    label_names: list[str] | None = None

    @classmethod
    def from_config(cls, domain: str, spec: Mapping[str, Any]) -> DatasetsSource:
        """Checked: known keys only, exactly one of `files`, `disk`, `hub`; paths with `~` expanded."""
        spec = dict(spec)
        allowed = [name for name in cls.__dataclass_fields__ if name != "domain"]
        unknown = sorted(set(spec) - set(allowed))
        if unknown:
            raise DataError(f"task.sources.{domain}: unknown keys {unknown}; allowed: {allowed}")
        chosen = [kind for kind in KINDS if spec.get(kind)]
        if len(chosen) != 1:
            raise DataError(
                f"task.sources.{domain} needs exactly one of files / disk / hub, got {chosen or 'none'}: "
                f"e.g. `files: {{train: train.csv, validation: dev.csv, test: test.csv}}`"
            )
        if spec.get("files"):
            spec["files"] = {split: _expanded(path) for split, path in dict(spec["files"]).items()}
            for path in spec["files"].values():
                loader_for(path, domain)
        if spec.get("disk"):
            spec["disk"] = _expanded(spec["disk"])
        spec["splits"] = dict(spec.get("splits") or {})
        spec["label_names"] = None if spec.get("label_names") is None else list(spec["label_names"])
        return cls(domain=domain, **spec)

    def split_name(self, split: str) -> str:
        """The dataset's name for one of the project's splits (train, validation, test)."""
        return self.splits.get(split, split)

    def describe(self, split: str) -> str:
        """`books/train (csv file /data/train.csv)`-style: what error messages name."""
        theirs = self.split_name(split)
        if self.files is not None:
            return f"{self.domain}/{split} (file {self.files.get(theirs.split('[')[0], '?')})"
        if self.disk is not None:
            return f"{self.domain}/{split} (save_to_disk folder {self.disk}, split {theirs!r})"
        config = f", config {self.config!r}" if self.config else ""
        return f"{self.domain}/{split} (hub dataset {self.hub!r}{config}, split {theirs!r})"

    def fingerprint(self) -> str:
        """A short hash of the whole spec: converted files of different specs never overwrite each other."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    def load(self, split: str, cache_dir: Path) -> Any:
        """One split as a `datasets.Dataset` (`datasets`' own cache under `cache_dir`)."""
        try:
            import datasets
        except ImportError as err:
            raise DataError(
                f"task.sources.{self.domain} reads through Hugging Face `datasets`, which is not installed: "
                f"`pip install datasets` (it is a dependency of the project: `make install`)."
            ) from err
        datasets.disable_progress_bars()  # a bar per split file would bury the run's own console
        if self.disk is not None:
            return self._from_disk(datasets, split)
        if self.files is not None:
            return self._from_files(datasets, split, cache_dir)
        return self._from_hub(datasets, split, cache_dir)

    def _missing_split(self, split: str, available: list[str]) -> DataError:
        return DataError(
            f"{self.describe(split)}: no split {self.split_name(split)!r}; the dataset has {available}. "
            f"Map the project's {split!r} onto one with `task.sources.{self.domain}.splits.{split}=<name>`"
        )

    def _from_disk(self, datasets: Any, split: str) -> Any:
        if not Path(self.disk).is_dir():
            raise DataError(f"task.sources.{self.domain}.disk: folder not found: {self.disk}")
        loaded = datasets.load_from_disk(self.disk)
        if not isinstance(loaded, datasets.DatasetDict):
            raise DataError(
                f"{self.disk} holds one Dataset, not a DatasetDict with train/validation/test: save "
                f"`DatasetDict({{'train': ..., 'validation': ..., 'test': ...}}).save_to_disk(...)`"
            )
        if self.split_name(split) not in loaded:
            raise self._missing_split(split, list(loaded))
        return loaded[self.split_name(split)]

    def _from_files(self, datasets: Any, split: str, cache_dir: Path) -> Any:
        theirs = self.split_name(split)
        base = theirs.split("[")[0]  # `train[:90%]` slices the file of `train`
        if base not in self.files:
            raise self._missing_split(split, list(self.files))
        path = self.files[base]
        if not Path(path).is_file():
            raise DataError(f"{self.describe(split)}: file not found. Fix task.sources.{self.domain}.files")
        loader, options = loader_for(path, self.domain)
        return datasets.load_dataset(
            loader, data_files={base: path}, split=theirs, cache_dir=str(cache_dir), **options
        )

    def _from_hub(self, datasets: Any, split: str, cache_dir: Path) -> Any:
        try:
            return datasets.load_dataset(
                self.hub, self.config, split=self.split_name(split), revision=self.revision,
                cache_dir=str(cache_dir),
            )  # fmt: skip
        except Exception as err:  # offline, unknown id, config or split: name the source and the way out
            raise DataError(
                f"{self.describe(split)}: could not load it ({type(err).__name__}: {err}). Check the id, "
                f"`config` and `splits`; without network, load it once elsewhere, `save_to_disk` it and use "
                f"`task.sources.{self.domain}.disk=<folder>`."
            ) from err


def _expanded(path: str) -> str:
    return str(Path(path).expanduser())


def loader_for(path: str, domain: str) -> tuple[str, dict[str, Any]]:
    """The `datasets` loader (and options) of a local file, by extension."""
    loader = LOADERS.get(Path(path).suffix.lower())
    if loader is None:
        raise DataError(
            f"task.sources.{domain}.files: {path} is not one of {sorted(LOADERS)}; "
            f"convert it, or save it as a DatasetDict with save_to_disk and use `disk:`"
        )
    return loader


def parse_sources(sources: Mapping[str, Any] | None) -> dict[str, DatasetsSource]:
    """`task.sources` (domain → spec, as in the task yaml) → checked `DatasetsSource`s."""
    if sources is None:
        return {}
    if not isinstance(sources, Mapping):
        raise DataError(f"task.sources must map domain names to sources, got {type(sources).__name__}")
    return {str(domain): DatasetsSource.from_config(str(domain), spec) for domain, spec in sources.items()}
