"""Timing for the benchmark scripts in scripts/: repeated measurements after warm-up, as median/min/max.

Numbers on a shared machine are noisy: compare only ratios measured in the same run. Every JSON a
benchmark writes carries the machine it ran on and a `headline` (one number, its target, met or not),
which `scripts/bench_all.py` gathers into `benchmarks/results/summary.md`.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: where `scripts/bench_*.py` write their JSON by default (relative to the project root)
RESULTS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def measure(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> dict[str, float]:
    """Seconds per call of `fn`: median, min and max over `repeats` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    return summarize([timed(fn) for _ in range(repeats)])


def timed(fn: Callable[[], Any]) -> float:
    """Wall seconds of one call of `fn`."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def summarize(times: list[float]) -> dict[str, float]:
    """Median, min and max of repeated measurements (the median resists a neighbour's burst of load)."""
    if not times:
        raise ValueError("summarize needs at least one measurement")
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "repeats": len(times)}


# Runs the measured command as ITS child and reports that child's rusage. Linux counts into a process's
# peak RSS the memory image it had before `exec` (the forked copy of its parent), so a command started
# straight from a large parent (a pytest process that loaded models) would report the parent's size.
# This small interpreter is the parent instead.
_MEASURING_PARENT = """
import json, os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as handle:
    json.dump({"returncode": os.waitstatus_to_exitcode(status),
               "cpu_seconds": usage.ru_utime + usage.ru_stime,
               "peak_rss_mib": usage.ru_maxrss / 1024}, handle)
"""


def run_child(
    command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 900.0
) -> dict[str, Any]:
    """Run a command to completion and return its wall seconds, CPU seconds, peak RSS and output.

    `os.wait4` in a small measuring parent gives the resource usage of exactly this command (not of
    every child so far, nor of the process that launched it), so the peak resident memory and CPU time
    belong to it alone. CPU time hardly depends on a neighbour's load.
    """
    with (
        tempfile.TemporaryDirectory() as scratch,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        usage_file = Path(scratch) / "usage.json"
        wrapped = [sys.executable, "-c", _MEASURING_PARENT, str(usage_file), *command]
        start = time.perf_counter()
        process = subprocess.Popen(wrapped, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the measuring parent and the command with it
            process.wait()
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        usage = (
            json.loads(usage_file.read_text())
            if usage_file.is_file()
            else {"returncode": process.returncode, "cpu_seconds": float("nan"), "peak_rss_mib": float("nan")}
        )
        return {
            **usage,
            "wall_seconds": wall,
            "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace"),
        }


def headline(name: str, value: float | None, unit: str, target: str, met: bool | None) -> dict[str, Any]:
    """The one number a benchmark stands for, with its target (e.g. `≥ 0.95`) and whether it is met."""
    return {"name": name, "value": value, "unit": unit, "target": target, "met": met}


def cpu_model() -> str:
    """The CPU's marketing name (from /proc/cpuinfo on Linux), else whatever `platform` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """What the numbers were measured on: CPU, usable cores, torch and its threads, GPU, date."""
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu_model(),
        "cores": cores,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "python": platform.python_version(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def write_json(result: dict[str, Any], out: Path | None) -> dict[str, Any]:
    """Add the machine description and write `result` as JSON to `out` (parents created)."""
    result.setdefault("machine", machine())
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {out}")
    return result


def report(
    name: str,
    rows: dict[str, dict[str, float]],
    baseline: str,
    out: Path | None = None,
    summary: dict[str, Any] | None = None,
) -> dict:
    """Print a table (seconds and ratio to `baseline`) and write it as JSON to `out`.

    `summary` is the benchmark's `headline(...)`; it is printed and stored under `headline`.
    """
    base = rows[baseline]["median"]
    print(f"\n{name}  (median of repeats; ratio = median / {baseline})")
    print(f"{'case':44s} {'median s':>10s} {'min s':>10s} {'max s':>10s} {'ratio':>7s}")
    for case, stats in rows.items():
        ratio = stats["median"] / base
        print(f"{case:44s} {stats['median']:10.3f} {stats['min']:10.3f} {stats['max']:10.3f} {ratio:7.2f}")
    result: dict[str, Any] = {"benchmark": name, "baseline": baseline, "cases": rows}
    if summary is not None:
        verdict = {True: "met", False: "MISSED", None: "n/a"}[summary["met"]]
        value = "n/a" if summary["value"] is None else f"{summary['value']:.3g}"
        print(f"{summary['name']}: {value} {summary['unit']} (target {summary['target']}: {verdict})")
        result["headline"] = summary
    return write_json(result, out)


def report_ratios(
    name: str,
    rows: dict[str, dict[str, float]],
    baseline: str,
    ratios: dict[str, float],
    headline_ratio: str,
    headline_name: str,
    minimum: float,
    out: Path,
) -> dict:
    """`report` for a benchmark whose target is one of several speed ratios (≥ `minimum`): the ratios are
    printed and stored beside the cases, `ratios[headline_ratio]` is the headline; written to `out`."""
    value = ratios[headline_ratio]
    summary = headline(headline_name, value, "×", f"≥ {minimum}", value >= minimum)
    result = report(name, rows, baseline=baseline, out=None, summary=summary)
    result["ratios"] = ratios
    for ratio_name, ratio in ratios.items():
        print(f"{ratio_name}: {ratio:.2f}×")
    return write_json(result, out)
