"""BBC News (Greene & Cunningham 2006) from the raw article files ``bbc/<category>/NNN.txt``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .fetch import RawFetcher, RawFile
from .layout import write_domain
from .text import collapse_whitespace, join_title_body
from .topic_splits import TITLE_END_PUNCTUATION, split_topic_domain

TASK = "topic"
DOMAIN = "bbc"
REPO = "dejanbatanjac/bbc-article-classify-bert"
COMMIT = "8265dc84e88b82b87ce7f5b2df5bbbb1159ae922"
# entertainment (386 articles) has no AG counterpart and is not fetched at all.
FOLDER_TO_LABEL = {
    "business": "business",
    "politics": "world_politics",
    "sport": "sports",
    "tech": "sci_tech",
}
ARTICLE_COUNTS = {"business": 510, "politics": 417, "sport": 511, "tech": 401}


def raw_files(counts: Mapping[str, int] = ARTICLE_COUNTS) -> list[RawFile]:
    """Article files in sorted path order; the folders number their files 001.txt upwards."""
    return [
        RawFile(REPO, COMMIT, f"bbc/{folder}/{number:03d}.txt")
        for folder in sorted(counts)
        for number in range(1, counts[folder] + 1)
    ]


def decode_article(data: bytes) -> str:
    """UTF-8, with Windows-1252 for the odd file that is not (one article's pound sign)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def parse_article(raw: str) -> str:
    """First line = title, the remaining lines (paragraphs) = body joined by spaces; kept in full."""
    lines = [line.strip() for line in raw.split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    title = collapse_whitespace(lines[0])
    body = collapse_whitespace(" ".join(lines[1:]))
    return join_title_body(title, body, TITLE_END_PUNCTUATION)


def build_domain(files: list[tuple[RawFile, Path]]) -> dict[str, list[dict[str, str]]]:
    """Articles in sorted path order, de-duplicated and split."""
    pairs = []
    for raw, path in sorted(files, key=lambda item: item[0].path):
        folder = raw.path.split("/")[-2]
        text = parse_article(decode_article(path.read_bytes()))
        if text:
            pairs.append((text, FOLDER_TO_LABEL[folder]))
    return split_topic_domain(pairs)


def prepare(fetcher: RawFetcher, out: Path, counts: Mapping[str, int] = ARTICLE_COUNTS) -> list[Path]:
    """Writes ``topic/bbc/*.jsonl`` (downloads about 1,800 small files on a first run)."""
    files = [(raw, fetcher.get(raw)) for raw in raw_files(counts)]
    return write_domain(out, TASK, DOMAIN, build_domain(files))
