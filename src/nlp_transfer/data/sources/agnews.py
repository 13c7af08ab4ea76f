"""AG News from the official ``test.csv`` (class index, title, description), cleaned of its escapes."""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

from .fetch import RawFetcher, RawFile
from .layout import write_domain
from .text import collapse_whitespace, join_title_body
from .topic_splits import TITLE_END_PUNCTUATION, split_topic_domain

TASK = "topic"
DOMAIN = "agnews"
REPO = "mhjabreel/CharCnn_Keras"
COMMIT = "555590db4219b1243abb1918effd6a7425a2d75f"
PATH = "data/ag_news_csv/test.csv"
CLASS_TO_LABEL = {"1": "world_politics", "2": "sports", "3": "business", "4": "sci_tech"}

# Entities whose "&" was lost upstream (" #39;s", " quot;"); a letter before "quot;" etc. means a word.
_NUMERIC_ENTITY = re.compile(r"&?#(\d+);")
_NAMED_ENTITY = re.compile(r"&(quot|amp|lt|gt);|(?<![A-Za-z])(quot|amp|lt|gt);")
_NAMED = {"quot": '"', "amp": "&", "lt": "<", "gt": ">"}
_TAG = re.compile(r"<[^<>]*>")


def raw_file() -> RawFile:
    """The official AG News test file."""
    return RawFile(REPO, COMMIT, PATH)


def _numeric(match: re.Match[str]) -> str:
    code = int(match.group(1))
    if 128 <= code <= 159:  # Windows-1252 code points written as numeric entities
        return bytes([code]).decode("cp1252", errors="replace")
    return chr(code)


def clean_ag_text(raw: str) -> str:
    """Backslash line breaks, stray entities and leftover HTML tags out; whitespace collapsed.

    Order matters: ``lt;A HREF..gt;`` only becomes a removable tag once the entities are decoded.
    """
    text = raw.replace("\\", " ")
    text = _NUMERIC_ENTITY.sub(_numeric, text)
    text = _NAMED_ENTITY.sub(lambda m: _NAMED[m.group(1) or m.group(2)], text)
    text = _TAG.sub(" ", text)
    return collapse_whitespace(html.unescape(text))


def parse_csv(raw: str) -> list[tuple[str, str]]:
    """``(text, label)`` rows in file order; text = title + ". " + description."""
    pairs = []
    for number, row in enumerate(csv.reader(io.StringIO(raw)), start=1):
        if not row:
            continue
        if len(row) != 3 or row[0] not in CLASS_TO_LABEL:
            raise ValueError(f"AG csv row {number}: expected class 1-4, title, description; got {row!r}")
        title, body = clean_ag_text(row[1]), clean_ag_text(row[2])
        text = join_title_body(title, body, TITLE_END_PUNCTUATION)
        if text:
            pairs.append((text, CLASS_TO_LABEL[row[0]]))
    return pairs


def build_domain(path: Path) -> dict[str, list[dict[str, str]]]:
    """Parsed, de-duplicated and split AG rows."""
    return split_topic_domain(parse_csv(path.read_text(encoding="utf-8")))


def prepare(fetcher: RawFetcher, out: Path) -> list[Path]:
    """Writes ``topic/agnews/*.jsonl``."""
    return write_domain(out, TASK, DOMAIN, build_domain(fetcher.get(raw_file())))
