"""A split read through Hugging Face `datasets`, converted on the fly into the project's JSONL records.

The converted file (`<cache>/datasets/converted/<source hash>/<domain>/<split>.jsonl`) is then read like the
shared layout, so tokenization caching (keyed by the file's sha256), data checksums in results.json and the
readers' checks are the same. Before it is written, every row is checked here with the JSONL rules (a text
is a non-blank string, NER tags are IOB2 and as many as the words) and every label against the task's label
set, so an error names the original source, its row and column, and the fix. A file is rewritten only when
its content changed: an unchanged source keeps its checksum, and with it its tokenization cache.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nlp_transfer.data.cache_files import atomic_write
from nlp_transfer.data.datasets_source import DatasetsSource
from nlp_transfer.data.errors import DataError
from nlp_transfer.data.jsonl import check_iob2, check_text
from nlp_transfer.data.label_space import LabelSpace


def column(dataset: Any, source: DatasetsSource, key: str, where: str) -> list:
    """The values of the column named by `source.<key>` (e.g. `text_column`), or an error naming the fix."""
    name = getattr(source, key)
    if name not in dataset.column_names:
        raise DataError(
            f"{where}: no column {name!r}; its columns are {dataset.column_names}. Name the right one with "
            f"`task.sources.{source.domain}.{key}=<column>`."
        )
    return list(dataset[name])


def label_decoder(dataset: Any, source: DatasetsSource, key: str, where: str) -> Callable[[Any, str], str]:
    """value, row → label name: strings as they are, integer ids through the column's `ClassLabel`
    (for NER, the `ClassLabel` inside the sequence) or else `source.label_names`."""
    feature = dataset.features[getattr(source, key)]
    feature = getattr(feature, "feature", feature)  # a sequence of tags: its element type
    names = getattr(feature, "names", None) or source.label_names

    def decode(value: Any, row: str) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            if names is None:
                raise DataError(
                    f"{row}: label {value} is an integer id with no names. Give them in id order with "
                    f"`task.sources.{source.domain}.label_names: [...]`, or store label names."
                )
            if not 0 <= value < len(names):
                raise DataError(f"{row}: label id {value} not in 0..{len(names) - 1} ({names}): unlabeled?")
            return names[value]
        raise DataError(f"{row}: a label must be a name or an integer id, got {type(value).__name__} {value}")

    return decode


def classification_records(dataset: Any, source: DatasetsSource, where: str) -> tuple[list[dict], list[str]]:
    """`{"text", "label"}` records (and the labels, for the label-set check) of one split."""
    texts = column(dataset, source, "text_column", where)
    labels = column(dataset, source, "label_column", where)
    decode = label_decoder(dataset, source, "label_column", where)
    records, names = [], []
    for index, (text, label) in enumerate(zip(texts, labels, strict=True)):
        row = f"{where} row {index}"
        name = decode(label, row)
        records.append({"text": check_text(text, f"column {source.text_column!r}", row), "label": name})
        names.append(name)
    return records, names


def token_records(dataset: Any, source: DatasetsSource, where: str) -> tuple[list[dict], list[str]]:
    """`{"tokens", "tags"}` records (and every tag, for the label-set check) of one NER split."""
    sentences = column(dataset, source, "tokens_column", where)
    tag_lists = column(dataset, source, "tags_column", where)
    decode = label_decoder(dataset, source, "tags_column", where)
    records, all_tags = [], []
    for index, (words, tags) in enumerate(zip(sentences, tag_lists, strict=True)):
        row = f"{where} row {index}"
        if not isinstance(words, list) or not isinstance(tags, list) or not words:
            raise DataError(f"{row}: tokens and tags must be non-empty lists (one tag per word)")
        if len(words) != len(tags):
            raise DataError(f"{row}: {len(words)} tokens but {len(tags)} tags; expected one tag per token")
        words = [check_text(word, f"token {i}", row) for i, word in enumerate(words)]
        tags = [decode(tag, row) for tag in tags]
        check_iob2(tags, row)
        records.append({"tokens": words, "tags": tags})
        all_tags += tags
    return records, all_tags


def write_if_changed(path: Path, records: list[dict]) -> None:
    """The records as JSONL (UTF-8, one object a line), written atomically and only when they changed."""
    content = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records).encode("utf-8")
    if path.is_file() and path.read_bytes() == content:
        return
    atomic_write(path, lambda handle: handle.write(content))


def datasets_cache_root(cache_dir: str | Path | None) -> Path:
    """`<cache>/datasets`: converted splits and `datasets`' own cache (a temp folder without a cache)."""
    return Path(cache_dir or Path(tempfile.gettempdir()) / "nlp-transfer") / "datasets"


def converted_split(
    source: DatasetsSource, split: str, level: str, label_space: LabelSpace | None, cache_root: Path
) -> Path:
    """Read one split through `datasets`, check it, and return the JSONL file it became.

    `level`: `sequence` (text + label) or `token` (NER words + tags), as the task's DataModule reads.
    `label_space`: the labels every row must have (None: any, for reading a domain's own label set).
    """
    where = source.describe(split)
    dataset = source.load(split, cache_root / "arrow")  # `datasets` own cache of what it read
    read = token_records if level == "token" else classification_records
    records, labels = read(dataset, source, where)
    if not records:
        raise DataError(f"{where}: the split is empty. Every split needs at least one example.")
    if label_space is not None:  # unknown labels: the layout's error
        label_space.encode(labels, where=where, domain=source.domain)
    path = cache_root / "converted" / source.fingerprint() / source.domain / f"{split}.jsonl"
    write_if_changed(path, records)
    return path
