"""NER: CoNLL-2003 (news) and the five CrossNER domains, from CrossNER's ``token<TAB>tag`` files.

Files are converted as they are: upstream splits, order, tokens and tags unchanged. Sentences end at
blank lines; ``-DOCSTART-`` lines (absent in the pinned copy, present in other CoNLL copies) are skipped,
and the empty "sentences" around document breaks are never written. The mapping of each domain's entity
types onto shared types is applied at load time, from `label_map` in conf/task/ner.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from .fetch import RawFetcher, RawFile
from .layout import write_domain

TASK = "ner"
REPO = "zliucr/CrossNER"
COMMIT = "2e7ba2a7798c961e3f29fbc51252c5a8d40224bf"
DOMAIN_DIRS = {
    "news": "conll2003",
    "politics": "politics",
    "science": "science",
    "music": "music",
    "literature": "literature",
    "ai": "ai",
}
SPLIT_FILES = {"train": "train.txt", "validation": "dev.txt", "test": "test.txt"}
DOCSTART = "-DOCSTART-"
_TAG = re.compile(r"^(?:O|[BI]-\S+)$")


def raw_files(domain: str) -> dict[str, RawFile]:
    """The three split files of one domain, keyed by our split name."""
    folder = DOMAIN_DIRS[domain]
    return {split: RawFile(REPO, COMMIT, f"ner_data/{folder}/{name}") for split, name in SPLIT_FILES.items()}


def check_bio(tags: list[str], where: str) -> None:
    """Refuses tags outside O/B-X/I-X and an I-X that does not continue an X span."""
    previous = "O"
    for i, tag in enumerate(tags):
        if not _TAG.match(tag):
            raise ValueError(f"{where}: token {i}: tag {tag!r} is not O, B-<type> or I-<type>")
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            raise ValueError(f"{where}: token {i}: {tag} follows {previous}, not a span of the same type")
        previous = tag


def parse_sentences(lines: Iterable[str], source: str = "<conll>") -> list[dict[str, list[str]]]:
    """Sentences as ``{"tokens": [...], "tags": [...]}``; each non-blank line is ``token<TAB>tag``."""
    sentences: list[dict[str, list[str]]] = []
    tokens: list[str] = []
    tags: list[str] = []

    def close(number: int) -> None:
        if tokens:
            check_bio(tags, f"{source}: sentence ending at line {number}")
            sentences.append({"tokens": list(tokens), "tags": list(tags)})
            tokens.clear()
            tags.clear()

    number = 0
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            close(number)
            continue
        if line.split()[0] == DOCSTART:
            close(number)
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0] or any(ch.isspace() for ch in fields[0]):
            raise ValueError(f"{source}:{number}: expected 'token<TAB>tag', got {line!r}")
        tokens.append(fields[0])
        tags.append(fields[1])
    close(number + 1)
    return sentences


def build_domain(files: dict[str, Path]) -> dict[str, list[dict[str, list[str]]]]:
    """Each split file parsed as is."""
    splits = {}
    for split, path in files.items():
        with path.open(encoding="utf-8", newline="") as handle:
            splits[split] = parse_sentences(handle, source=str(path))
    return splits


def prepare(fetcher: RawFetcher, out: Path, domains: tuple[str, ...] = tuple(DOMAIN_DIRS)) -> list[Path]:
    """Writes ``ner/<domain>/*.jsonl`` for each domain."""
    written: list[Path] = []
    for domain in domains:
        files = {split: fetcher.get(raw) for split, raw in raw_files(domain).items()}
        written += write_domain(out, TASK, domain, build_domain(files))
    return written
