"""Timing for the benchmark scripts in scripts/: repeated measurements after warm-up, as median/min/max.

Numbers on a shared machine are noisy: compare only ratios measured in the same run.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def measure(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> dict[str, float]:
    """Seconds per call of `fn`: median, min and max over `repeats` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "repeats": repeats}


def report(name: str, rows: dict[str, dict[str, float]], baseline: str, out: Path | None = None) -> dict:
    """Print a table (seconds and ratio to `baseline`) and write it as JSON to `out`."""
    base = rows[baseline]["median"]
    print(f"\n{name}  (median of repeats; ratio = median / {baseline})")
    print(f"{'case':34s} {'median s':>10s} {'min s':>10s} {'max s':>10s} {'ratio':>7s}")
    for case, stats in rows.items():
        ratio = stats["median"] / base
        print(f"{case:34s} {stats['median']:10.3f} {stats['min']:10.3f} {stats['max']:10.3f} {ratio:7.2f}")
    result = {"benchmark": name, "baseline": baseline, "cases": rows}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
    return result
