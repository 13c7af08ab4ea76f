"""Amazon multi-domain sentiment (Blitzer et al. 2007) from the raw ``*.review`` pseudo-XML files.

The files are not well-formed XML (bare ``&``, ``<br />`` inside text), hence the regular expressions.
"""

from __future__ import annotations

import html
import random
import re
from pathlib import Path

from .fetch import RawFetcher, RawFile
from .layout import text_record, write_domain
from .splitting import drop_duplicates, rounded_counts, stratified_split
from .text import collapse_whitespace, join_title_body

TASK = "sentiment"
REPO = "bzantium/bert-AAD"
COMMIT = "cbe2e0cac6564dfbc6234882a73ca78020ac0d22"
DOMAINS = ("books", "dvd", "electronics", "kitchen")
LABEL_FILES = {"positive": "positive.review", "negative": "negative.review"}  # order = split recipe order
SEED_PREFIX = "20070625"

_REVIEW = re.compile(r"<review>(.*?)</review>", re.DOTALL)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_ZERO_WIDTH = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"))


def raw_files(domain: str) -> dict[str, RawFile]:
    """The positive and negative review files of one domain, keyed by label."""
    return {label: RawFile(REPO, COMMIT, f"data/{domain}/{name}") for label, name in LABEL_FILES.items()}


def _field(block: str, tag: str) -> str:
    match = re.search(rf"<{tag}>(.*?)</{tag}>", block, re.DOTALL)
    return match.group(1) if match else ""


def clean_review_part(raw: str) -> str:
    """Entities unescaped twice (some are double-escaped, ``&amp;quot;``), breaks and zero-widths out."""
    text = html.unescape(html.unescape(raw))
    text = _BREAK.sub(" ", text).translate(_ZERO_WIDTH)
    return collapse_whitespace(text)


def parse_reviews(raw: str) -> list[str]:
    """Texts of all ``<review>`` blocks: title + ". " + review text (the joiner is unconditional)."""
    texts = []
    for block in _REVIEW.findall(raw):
        title = clean_review_part(_field(block, "title"))
        body = clean_review_part(_field(block, "review_text"))
        text = join_title_body(title, body)
        if text:
            texts.append(text)
    return texts


def build_domain(files: dict[str, Path], domain: str) -> dict[str, list[dict[str, str]]]:
    """Dedup (first copy wins) and the seeded 70/10/20 stratified split of one domain."""
    pairs = []
    for label in LABEL_FILES:
        raw = files[label].read_text(encoding="utf-8", errors="replace")
        pairs.extend((text, label) for text in parse_reviews(raw))
    pairs = drop_duplicates(pairs, key=lambda pair: pair[0])
    by_label = {label: [p for p in pairs if p[1] == label] for label in LABEL_FILES}
    rng = random.Random(f"{SEED_PREFIX}-{domain}")
    splits = stratified_split(by_label, rng, rounded_counts)
    return {name: [text_record(text, label) for text, label in items] for name, items in splits.items()}


def prepare(fetcher: RawFetcher, out: Path, domains: tuple[str, ...] = DOMAINS) -> list[Path]:
    """Writes ``sentiment/<domain>/*.jsonl`` for each domain."""
    written: list[Path] = []
    for domain in domains:
        files = {label: fetcher.get(raw) for label, raw in raw_files(domain).items()}
        written += write_domain(out, TASK, domain, build_domain(files, domain))
    return written
