"""Each job of an in-process multirun records its own peak RSS, not the process's lifetime peak."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from nlp_transfer import job as job_module
from nlp_transfer.job import Job, job_peak_rss_mib, start_job

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="clear_refs is Linux's")


@pytest.fixture(autouse=True)
def _own_job_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """These jobs are not counted as the test process's real ones (train() reads the count)."""
    monkeypatch.setattr(job_module, "_jobs_started_in_this_process", 0)


def _touch_mib(mib: int) -> float:
    """Allocate and write `mib` MiB (numpy's large blocks come from mmap, so freeing returns them)."""
    block = np.ones(mib * 1024 * 1024 // 8)
    return float(block[-1])


@linux_only
def test_a_later_job_does_not_inherit_the_earlier_jobs_peak() -> None:
    first = start_job()
    _touch_mib(400)
    first_peak = job_peak_rss_mib(first)
    second = start_job()  # the big block is freed: the second job never holds it
    _touch_mib(50)
    second_peak = job_peak_rss_mib(second)
    assert second.peak_rss_reset
    assert first_peak is not None and second_peak is not None
    assert first_peak - second_peak > 300, (first_peak, second_peak)


@linux_only
def test_the_peak_counts_what_the_job_allocates() -> None:
    job = start_job()
    before = job_peak_rss_mib(job)
    _touch_mib(200)
    after = job_peak_rss_mib(job)
    assert before is not None and after is not None
    assert after - before > 150, (before, after)


def test_without_a_resettable_mark_only_the_first_job_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_module, "_high_water_mib", lambda: None)  # e.g. macOS: no /proc
    assert job_peak_rss_mib(Job(started=0.0, first_in_process=True)) > 0  # ru_maxrss: the process is the job
    assert job_peak_rss_mib(Job(started=0.0, first_in_process=False)) is None  # unknown, never borrowed


class _Node:
    """Something a reference cycle keeps alive (a Trainer and its module point at each other)."""

    def __init__(self) -> None:
        self.partner: _Node | None = None


def test_a_later_job_starts_after_the_earlier_jobs_cycles_are_collected() -> None:
    import gc
    import weakref

    start_job()  # the first job of the process
    a, b = _Node(), _Node()
    a.partner, b.partner = b, a
    gone = weakref.ref(a)
    del a, b  # unreachable, but only the cycle collector frees them
    gc.disable()  # no automatic collection may do it for us
    try:
        assert gone() is not None
        start_job()
        assert gone() is None
    finally:
        gc.enable()
