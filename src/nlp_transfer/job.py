"""One job's bookkeeping around train()'s recipe: its clock, its place in the process, how it ended.

Kept out of the recipe as lightning-hydra-template's `task_wrapper` does: whatever the recipe raises,
the record says how the run ended (`failed`, or `interrupted` and resumable), what it cost so far, and
is written (by DDP rank 0 only) before W&B is closed with the matching exit code.
"""

from __future__ import annotations

import gc
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nlp_transfer.interruption import Interruptions
from nlp_transfer.results.record import RunRecord, write_results

_jobs_started_in_this_process = 0


_PROC_SELF = Path("/proc/self")


@dataclass(frozen=True)
class Job:
    """When this job started (`time.perf_counter()`), whether an earlier job ran in this process, and whether
    the process's peak-RSS mark was reset at its start (so the peak read at its end is this job's own)."""

    started: float
    first_in_process: bool
    peak_rss_reset: bool = False


def start_job() -> Job:
    """Count a new job: the jobs of a multirun share one process, and its clock (startup) with them.

    A later job first collects the earlier jobs' reference cycles (a Trainer and its LightningModule hold
    each other, and with them the model and optimizer state): left to Python's generational collector they
    can outlive several jobs, and a long in-process sweep's memory grows with them (a tiny 8-job smoke
    sweep: the per-job peak rose 641 → 801 MiB without it, 641 → 665 MiB with it)."""
    global _jobs_started_in_this_process
    first = _jobs_started_in_this_process == 0
    _jobs_started_in_this_process += 1
    if not first:
        gc.collect()
    return Job(started=time.perf_counter(), first_in_process=first, peak_rss_reset=_reset_peak_rss())


def _reset_peak_rss() -> bool:
    """Lower the process's RSS high-water mark to its current RSS (Linux ≥ 4.0: `echo 5 > clear_refs`,
    proc(5)), so a multirun's later job does not inherit an earlier job's peak. False where impossible."""
    try:
        (_PROC_SELF / "clear_refs").write_text("5")
    except OSError:
        return False
    return _high_water_mib() is not None


def _high_water_mib() -> float | None:
    """`VmHWM` of /proc/self/status in MiB (the mark `_reset_peak_rss` lowers), None off Linux."""
    try:
        status = (_PROC_SELF / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return None


def job_peak_rss_mib(job: Job) -> float | None:
    """This job's peak resident memory in MiB: the high-water mark since its start where it could be reset;
    else the process's lifetime peak (`ru_maxrss`), which is this job's only for the first job in the process.
    None for a later job whose peak cannot be told apart from an earlier job's (never a borrowed number)."""
    if job.peak_rss_reset and (mark := _high_water_mib()) is not None:
        return round(mark, 1)
    if job.first_in_process:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # kB on Linux
    return None


@contextmanager
def recorded_outcome(
    record: RunRecord, output_dir: Path, interruptions: Interruptions, job: Job
) -> Iterator[RunRecord]:
    """Around the recipe: on an error mark the record failed (or interrupted), then always write it."""
    exit_code = 1
    try:
        yield record
        exit_code = 0
    except BaseException as err:
        if (interrupted := interruptions.as_error(err)) is not None:
            record.status, record.error = "interrupted", str(interrupted)  # the rerun resumes
            raise interrupted from err
        record.status, record.error = "failed", f"{type(err).__name__}: {err}"
        raise
    finally:
        record.cost.wall_seconds = round(time.perf_counter() - job.started, 2)
        record.cost.peak_rss_mib = job_peak_rss_mib(job)
        _write_and_close(record, output_dir, exit_code)


def _write_and_close(record: RunRecord, output_dir: Path, exit_code: int) -> None:
    from nlp_transfer.distributed import global_rank
    from nlp_transfer.tracking import finish_wandb

    if global_rank() == 0:  # under DDP every rank runs train(); one results.json
        write_results(output_dir, record)
    finish_wandb(exit_code)
