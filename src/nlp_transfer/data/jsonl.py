"""Reading the shared JSONL layout (`<task>/<domain>/<split>.jsonl`) with errors that name the fix."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from nlp_transfer.data.errors import DataError

DATA_ENV_VAR = "NLP_TRANSFER_DATA"


def split_path(data_dir: str | Path, domain: str, split: str) -> Path:
    """Path of one split file, checked to exist (the error names the env var that moves the data)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(
            f"Data directory not found: {data_dir}. Point the project at the data with "
            f"`export {DATA_ENV_VAR}=/path/to/data` (the folder holding sentiment/, emotion/, ...) "
            f"or `paths.data_dir=/path/to/data`."
        )
    path = data_dir / domain / f"{split}.jsonl"
    if not path.is_file():
        found = sorted(p.name for p in data_dir.iterdir() if p.is_dir())
        raise DataError(
            f"Split file not found: {path}. Domains found under {data_dir}: {found}. "
            f"Check `domain.source`/`domain.target`, or set {DATA_ENV_VAR} to the data root."
        )
    return path


def _records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, JSON object) for every non-blank line of a JSONL file."""
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}:{line_no}: not valid JSON ({err}); see LAYOUT.md") from err


def _require_examples(path: Path, count: int) -> None:
    if count == 0:
        raise DataError(f"Split file is empty: {path}. Every split needs at least one example.")


def read_classification_split(path: Path, with_labels: bool = True) -> tuple[list[str], list[str] | None]:
    """Texts (and label strings) of a text-classification split; an empty split is an error."""
    texts: list[str] = []
    labels: list[str] = []
    for line_no, record in _records(path):
        try:
            texts.append(record["text"])
            if with_labels:
                labels.append(record["label"])
        except (KeyError, TypeError) as err:
            raise DataError(
                f"{path}:{line_no}: expected a JSON object with 'text' and 'label' keys (see LAYOUT.md), "
                f"got {str(record)[:80]!r}"
            ) from err
    _require_examples(path, len(texts))
    return texts, (labels if with_labels else None)


def read_token_split(path: Path, with_labels: bool = True) -> tuple[list[list[str]], list[list[str]] | None]:
    """Sentences (lists of words) and their BIO tags from an NER split; checks tags match words."""
    sentences: list[list[str]] = []
    tags: list[list[str]] = []
    for line_no, record in _records(path):
        try:
            words = record["tokens"]
            if with_labels:
                sentence_tags = record["tags"]
                if len(sentence_tags) != len(words):
                    raise ValueError(f"{len(words)} tokens but {len(sentence_tags)} tags")
                tags.append(sentence_tags)
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(
                f"{path}:{line_no}: expected {{'tokens': [...], 'tags': [...]}} of equal length "
                f"(see LAYOUT.md): {err}"
            ) from err
        if not words:
            raise DataError(f"{path}:{line_no}: a sentence with no tokens")
        sentences.append(words)
    _require_examples(path, len(sentences))
    return sentences, (tags if with_labels else None)


def file_checksum(path: Path) -> str:
    """sha256 of a file's bytes: part of the tokenization cache key and of results.json's `env`."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
