"""Which sources make up each task, and the one entry point the CLI calls."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from . import agnews, amazon, bbc, carer, conll, goemotions
from .fetch import RawFetcher

log = logging.getLogger(__name__)

Preparer = Callable[[RawFetcher, Path], list[Path]]

TASK_SOURCES: dict[str, tuple[Preparer, ...]] = {
    "sentiment": (amazon.prepare,),
    "emotion": (carer.prepare, goemotions.prepare),
    "topic": (agnews.prepare, bbc.prepare),
    "ner": (conll.prepare,),
}


def prepare_tasks(out: Path, tasks: Iterable[str], fetcher: RawFetcher) -> list[Path]:
    """Builds every source of the given tasks into ``out``; returns the files written."""
    tasks = list(tasks)
    unknown = sorted(set(tasks) - set(TASK_SOURCES))
    if unknown:
        raise ValueError(f"unknown task(s) {unknown}; choose from {sorted(TASK_SOURCES)}")
    written: list[Path] = []
    for task in tasks:
        for prepare in TASK_SOURCES[task]:
            log.info("preparing %s with %s", task, prepare.__module__)
            written += prepare(fetcher, out)
    return written
