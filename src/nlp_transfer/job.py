"""One job's bookkeeping around train()'s recipe: its clock, its place in the process, how it ended.

Kept out of the recipe as lightning-hydra-template's `task_wrapper` does: whatever the recipe raises,
the record says how the run ended (`failed`, or `interrupted` and resumable), what it cost so far, and
is written (by DDP rank 0 only) before W&B is closed with the matching exit code.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nlp_transfer.interruption import Interruptions
from nlp_transfer.results.record import RunRecord, write_results

_jobs_started_in_this_process = 0


@dataclass(frozen=True)
class Job:
    """When this job started (`time.perf_counter()`) and whether an earlier job ran in this process."""

    started: float
    first_in_process: bool


def start_job() -> Job:
    """Count a new job: the jobs of a multirun share one process, and its clock (startup) with them."""
    global _jobs_started_in_this_process
    first = _jobs_started_in_this_process == 0
    _jobs_started_in_this_process += 1
    return Job(started=time.perf_counter(), first_in_process=first)


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
        record.cost.peak_rss_mib = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        _write_and_close(record, output_dir, exit_code)


def _write_and_close(record: RunRecord, output_dir: Path, exit_code: int) -> None:
    from nlp_transfer.distributed import global_rank
    from nlp_transfer.tracking import finish_wandb

    if global_rank() == 0:  # under DDP every rank runs train(); one results.json
        write_results(output_dir, record)
    finish_wandb(exit_code)
