"""A Hydra callback: after a multirun, report failed jobs and make the exit code say so.

Jobs of a sweep catch their own errors (recorded in their `results.json`) so the sweep goes on;
this callback then exits with status 1 if any job failed, so scripts and CI still notice. A job that
another worker of the same sweep is still training (its run.lock held by a live process; its
results.json, if any, is from an earlier interrupted attempt) is not failed: it is listed as running.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from nlp_transfer.results.record import RecordError, RunRecord
from nlp_transfer.results.run_files import iter_run_files
from nlp_transfer.run_lock import LOCK_FILE, live_holder

log = logging.getLogger(__name__)


def running_elsewhere(sweep_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """(run folder, holder) for every job below `sweep_dir` that a live process is training now."""
    if not sweep_dir.is_dir():
        return []
    held = ((lock.parent, live_holder(lock.parent)) for lock in sorted(sweep_dir.rglob(LOCK_FILE)))
    return [(run_dir, holder) for run_dir, holder in held if holder is not None]


def failed_runs(sweep_dir: Path) -> list[tuple[Path, str]]:
    """(run folder, error) for every job below `sweep_dir` whose results.json is unreadable or not `ok`,
    except jobs that another process is training now (`running_elsewhere`)."""
    if not sweep_dir.is_dir():  # a sweep that launched nothing
        return []
    failed = []
    for run in iter_run_files(sweep_dir):
        if live_holder(run.run_dir) is not None:
            continue
        if run.record is None:
            failed.append((run.run_dir, str(run.problem)))
            continue
        try:
            record = RunRecord.from_dict(run.record)
        except RecordError as err:
            failed.append((run.run_dir, f"not a run record: {err}"))
            continue
        if record.status != "ok":
            failed.append((run.run_dir, record.error or record.status))
    return failed


class ExitNonZeroOnFailedJobs(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if running := running_elsewhere(sweep_dir):
            log.info(
                "%d job(s) of this sweep are still being trained by another worker (their run.lock is "
                "held); that worker writes their results:\n%s", len(running),
                "\n".join(f"  {run}: pid {h.get('pid')} on {h.get('host')}" for run, h in running),
            )  # fmt: skip
        failed = failed_runs(sweep_dir)
        if not failed:
            return
        lines = [f"{len(failed)} job(s) of the sweep failed:"] + [
            f"  {run}: {err[:300]}" for run, err in failed
        ]
        log.error("\n".join(lines))
        print("\n".join(lines), file=sys.stderr, flush=True)
        sys.exit(1)
