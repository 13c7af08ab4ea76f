"""The benchmark helpers: a child's own peak memory and CPU time, and median/min/max summaries."""

from __future__ import annotations

import sys

import pytest

from nlp_transfer.benchmarking import run_child, summarize


def test_run_child_reports_the_childs_own_peak_memory_and_exit_code() -> None:
    # a launcher holding 400 MiB itself: the children's figures must not include it (Linux counts a
    # forked child's pre-exec copy of its parent into the child's peak RSS)
    ballast = bytearray(400 * 2**20)
    ballast[::4096] = b"1" * len(ballast[::4096])
    big = run_child([sys.executable, "-c", "x = bytearray(300 * 2**20); x[::4096] = b'1' * len(x[::4096])"])
    small = run_child([sys.executable, "-c", "print('hi')"])
    del ballast
    assert big["returncode"] == 0 and small["returncode"] == 0 and small["stdout"] == "hi\n"
    assert big["peak_rss_mib"] > 300 > small["peak_rss_mib"]  # per child, not the maximum over all children
    assert big["wall_seconds"] > 0 and big["cpu_seconds"] > 0
    failed = run_child([sys.executable, "-c", "import sys; sys.exit(3)"])
    assert failed["returncode"] == 3


def test_summarize_gives_median_min_max_and_refuses_no_data() -> None:
    assert summarize([3.0, 1.0, 2.0, 10.0]) == {"median": 2.5, "min": 1.0, "max": 10.0, "repeats": 4}
    with pytest.raises(ValueError, match="at least one"):
        summarize([])
