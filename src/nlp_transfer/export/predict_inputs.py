"""The input of `nlp-transfer predict`: a JSONL file, a text file or stdin, checked as training data is.

* JSONL (`.jsonl`/`.json`, or `format=jsonl`): one object per line, `{"text": …}` for a sequence task,
  `{"tokens": [...]}` (or `{"text": …}`, split at whitespace) for NER; other keys are ignored except `id`,
  which is copied to the output. The fields are checked by the training readers' own checks
  (data/jsonl.py), so a bad line fails with the same `<file>:<line>: …` message.
* text (any other file, or `-` for stdin): one text per line; NER splits it at whitespace.

Blank lines are skipped; every output row carries its input `line` number.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from nlp_transfer.data.errors import DataError
from nlp_transfer.data.jsonl import _field, _sentence, _show, check_text

STDIN = "-"
FORMATS = ("jsonl", "text")


@dataclass(frozen=True)
class InputRow:
    """One input example: its line number, and its text (sequence level) or words (token level)."""

    line: int
    text: str | None = None
    words: list[str] | None = None
    id: Any = None


def input_format(source: str, fmt: str | None) -> str:
    """`jsonl` or `text`: as given, else from the file name (stdin is text)."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise DataError(f"format={fmt!r}: use one of {FORMATS}")
        return fmt
    return "jsonl" if source != STDIN and Path(source).suffix in (".jsonl", ".json") else "text"


def _decoded(handle: BinaryIO, name: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line, UTF-8 (a leading BOM allowed), a bad byte named by line."""
    for line_no, raw in enumerate(handle, start=1):
        try:
            yield line_no, raw.decode("utf-8-sig" if line_no == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError as err:
            raise DataError(
                f"{name}:{line_no}: not valid UTF-8 (byte {raw[err.start]:#04x} at byte {err.start + 1} of "
                "the line): re-encode the input (e.g. `iconv -t utf-8`)."
            ) from None


def _json_row(line: str, name: str, line_no: int, level: str) -> InputRow:
    """One JSONL line as a row, with the training readers' checks and messages."""
    where = f"{name}:{line_no}"
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as err:
        raise DataError(f"{where}: not valid JSON ({err}); see LAYOUT.md") from None
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected a JSON object, got {_show(record)}; see LAYOUT.md")
    if level == "token" and "tokens" in record:
        words, _ = _sentence(record, Path(name), line_no, with_labels=False)
        return InputRow(line_no, words=words, id=record.get("id"))
    example = '{"tokens": [...]} or {"text": "..."}' if level == "token" else '{"text": "..."}'
    text = check_text(_field(record, "text", Path(name), line_no, example), "'text'", where)
    return InputRow(line_no, text=text, words=text.split() if level == "token" else None, id=record.get("id"))


def read_inputs(source: str, level: str, fmt: str | None = None) -> list[InputRow]:
    """Every non-blank line of `source` (a path, or `-` for stdin) as a checked row, in input order."""
    fmt = input_format(source, fmt)
    name = "<stdin>" if source == STDIN else source
    if source != STDIN and not Path(source).is_file():
        raise DataError(f"input={source} is not a file: pass a .jsonl or .txt file, or input=- to read stdin")
    rows = []
    with open(source, "rb") if source != STDIN else contextlib.nullcontext(sys.stdin.buffer) as handle:
        for line_no, line in _decoded(handle, name):
            if not line.strip():
                continue
            if fmt == "jsonl":
                rows.append(_json_row(line, name, line_no, level))
            else:
                text = check_text(line, "the line", f"{name}:{line_no}")
                rows.append(InputRow(line_no, text=text, words=text.split() if level == "token" else None))
    if not rows:
        raise DataError(f"{name} holds no input: give one text (or JSON object) per line")
    return rows
