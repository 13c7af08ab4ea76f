"""A Hydra callback: after a multirun, report failed jobs and make the exit code say so.

Jobs of a sweep catch their own errors (recorded in their `results.json`) so the sweep goes on;
this callback then exits with status 1 if any job failed, so scripts and CI still notice.
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

log = logging.getLogger(__name__)


def failed_runs(sweep_dir: Path) -> list[tuple[Path, str]]:
    """(run folder, error) for every job below `sweep_dir` whose results.json is unreadable or not `ok`."""
    if not sweep_dir.is_dir():  # a sweep that launched nothing
        return []
    failed = []
    for run in iter_run_files(sweep_dir):
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
        failed = failed_runs(Path(config.hydra.sweep.dir))
        if not failed:
            return
        lines = [f"{len(failed)} job(s) of the sweep failed:"] + [
            f"  {run}: {err[:300]}" for run, err in failed
        ]
        log.error("\n".join(lines))
        print("\n".join(lines), file=sys.stderr, flush=True)
        sys.exit(1)
