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


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line, decoded as UTF-8 (a leading BOM is allowed) with the line named."""
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            try:
                yield line_no, raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
            except UnicodeDecodeError as err:
                raise DataError(
                    f"{path}:{line_no}: not valid UTF-8 (byte {raw[err.start]:#04x} at byte {err.start + 1} "
                    f"of the line). LAYOUT.md requires UTF-8: re-encode the file (e.g. `iconv -t utf-8`)."
                ) from None


def _records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, JSON object) for every non-blank line of a JSONL file."""
    for line_no, line in _lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as err:  # JSONDecodeError, over-long integers, deep nesting
            raise DataError(f"{path}:{line_no}: not valid JSON ({err}); see LAYOUT.md") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}:{line_no}: expected a JSON object, got {_show(record)}; see LAYOUT.md")
        yield line_no, record


def _show(value: object) -> str:
    """A value's type and a short excerpt, for error messages."""
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def _field(record: dict, key: str, path: Path, line_no: int, example: str) -> object:
    if key not in record:
        raise DataError(f"{path}:{line_no}: no {key!r} key; expected {example} (see LAYOUT.md)")
    return record[key]


def check_text(value: object, what: str, where: str) -> str:
    """A non-blank string the tokenizer can encode (no lone surrogates from `\\ud800`-style escapes).

    Also checks texts read through Hugging Face `datasets` (data/datasets_source.py)."""
    if not isinstance(value, str):
        raise DataError(f"{where}: {what} must be a string, got {_show(value)}")
    if not value.strip():
        raise DataError(f"{where}: {what} is empty or whitespace only: give it text or remove the line")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise DataError(f"{where}: {what} holds a lone surrogate escape (e.g. \\ud800), not text") from None
    return value


def _require_examples(path: Path, count: int) -> None:
    if count == 0:
        raise DataError(f"Split file is empty: {path}. Every split needs at least one example.")


def read_classification_split(path: Path, with_labels: bool = True) -> tuple[list[str], list[str] | None]:
    """Texts (and label strings) of a text-classification split; each text must be a non-blank string."""
    texts: list[str] = []
    labels: list[str] = []
    example = '{"text": "...", "label": "..."}'
    for line_no, record in _records(path):
        where = f"{path}:{line_no}"
        texts.append(check_text(_field(record, "text", path, line_no, example), "'text'", where))
        if with_labels:
            label = _field(record, "label", path, line_no, example)
            if not isinstance(label, str):
                raise DataError(f"{where}: 'label' must be a string, got {_show(label)}")
            labels.append(label)
    _require_examples(path, len(texts))
    return texts, (labels if with_labels else None)


def read_token_split(path: Path, with_labels: bool = True) -> tuple[list[list[str]], list[list[str]] | None]:
    """Sentences (lists of non-blank words) and their IOB2 tags from an NER split; tags must match words."""
    sentences: list[list[str]] = []
    tags: list[list[str]] = []
    for line_no, record in _records(path):
        words, sentence_tags = _sentence(record, path, line_no, with_labels)
        sentences.append(words)
        if sentence_tags is not None:
            tags.append(sentence_tags)
    _require_examples(path, len(sentences))
    return sentences, (tags if with_labels else None)


def _sentence(record: dict, path: Path, line_no: int, with_labels: bool) -> tuple[list, list | None]:
    """One NER record's words (and tags), checked: lists of strings, equal length, tags in IOB2."""
    where, example = f"{path}:{line_no}", '{"tokens": [...], "tags": [...]} of equal length'
    words = _field(record, "tokens", path, line_no, example)
    if not isinstance(words, list):
        raise DataError(f"{where}: 'tokens' must be a list of strings, got {_show(words)}")
    if not words:
        raise DataError(f"{where}: a sentence with no tokens; remove the line")
    for index, word in enumerate(words):
        check_text(word, f"token {index}", where)
    if not with_labels:
        return words, None
    tags = _field(record, "tags", path, line_no, example)
    if not isinstance(tags, list):
        raise DataError(f"{where}: 'tags' must be a list of strings, got {_show(tags)}")
    if len(tags) != len(words):
        raise DataError(f"{where}: expected {example}: {len(words)} tokens but {len(tags)} tags")
    check_iob2(tags, where)
    return words, tags


def check_iob2(tags: list, where: str) -> None:
    """Refuse tags that are not IOB2: each is `O`, `B-<type>` or `I-<type>`, and an `I-` continues an entity
    of its own type. An orphan `I-` (after `O`, at the start, or after another type) is refused rather than
    repaired, since a repair would silently relabel the file; the shared data has none."""
    previous = "O"
    for index, tag in enumerate(tags):
        if not isinstance(tag, str):
            raise DataError(f"{where}: tag {index} must be a string, got {_show(tag)}")
        if tag != "O" and (tag[:2] not in ("B-", "I-") or not tag[2:]):
            raise DataError(f"{where}: tag {index} {tag!r} is not a BIO tag ('O', 'B-<type>' or 'I-<type>')")
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            after = repr(previous) if index else "the sentence start"
            raise DataError(
                f"{where}: tag {index} {tag!r} follows {after}, so it "
                f"continues no {tag[2:]!r} entity. Tags must be IOB2; a file in IOB1 (CoNLL-2003's original "
                f"scheme) starts entities with I-: convert it, making each I- that opens an entity a B-."
            )
        previous = tag


def file_checksum(path: Path) -> str:
    """sha256 of a file's bytes: part of the tokenization cache key and of results.json's `env`."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
