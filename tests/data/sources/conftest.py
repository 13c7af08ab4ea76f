"""Fixtures for the source converters: a raw folder to write original-format files into, and a fetcher
that can never reach a real host (downloads go to a closed local port and fail at once)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp_transfer.data.sources.fetch import RawFetcher, RawFile

CLOSED_PORT_URL = "http://127.0.0.1:9/"


class RawFolder:
    """A ``--raw-dir`` in tmp_path plus an output root."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "raw"
        self.out = root / "out"
        self.fetcher = RawFetcher(self.dir, base_url=CLOSED_PORT_URL, timeout=2.0)

    def put(self, raw: RawFile, content: str | bytes) -> Path:
        path = raw.local_path(self.dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path


@pytest.fixture
def raw(tmp_path: Path) -> RawFolder:
    return RawFolder(tmp_path)


def read_jsonl(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    assert (text == "" or text.endswith("\n")) and "\n\n" not in text, (
        f"{path}: blank line or no final newline"
    )
    return [json.loads(line) for line in text.splitlines()]


def read_domain(out: Path, task: str, domain: str) -> dict[str, list[dict]]:
    return {
        split: read_jsonl(out / task / domain / f"{split}.jsonl") for split in ("train", "validation", "test")
    }


def snapshot(out: Path) -> dict[str, bytes]:
    """Every output file's bytes, to compare two runs."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.jsonl"))}
