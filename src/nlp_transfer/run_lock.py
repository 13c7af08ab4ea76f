"""One writer per run dir: `<run dir>/run.lock`, held for the whole run by the process that trains.

Two processes in one run dir (the same `run_id` started twice) would overwrite each other's last.ckpt
and results.json. The lock is an OS file lock (`flock`) on `run.lock`, whose content names the holder
(pid, host, SLURM job) so that the second process's error says who holds it:

* a process that dies (SIGKILL included) loses its flock with it, so a stale lock of a dead process is
  simply taken over (logged); the file itself is never deleted (deleting a lock file races with openers);
* DDP: every rank runs train(); only global rank 0 takes the lock, for all ranks of its run;
* multiruns in one process: each job locks its own subfolder and releases it when the job ends;
* several workers on one sweep (the same `-m` command started more than once): a job whose folder
  another worker holds is skipped by the others (train.py), so each job is trained once;
* another host: on NFSv4 and most cluster file systems flock is cluster-wide; a holder on a host that
  died keeps it until the server's lease expires (NFS: ~90 s). A SLURM requeue of the same job (same
  SLURM_JOB_ID, which SLURM only restarts after the old incarnation is gone) waits up to
  `REQUEUE_WAIT_S` for that; any other holder is an error. Where the file system has no locks at all,
  the content decides: a holder on this host whose pid is dead, or an earlier incarnation of this SLURM
  job, is taken over; a live or unverifiable one (another host) is an error that names the file to
  delete once that process is known to be gone.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LOCK_FILE = "run.lock"
REQUEUE_WAIT_S = 180.0


class RunDirLocked(RuntimeError):
    """Another process is writing to this run dir."""


def _slurm_job() -> str | None:
    array = os.environ.get("SLURM_ARRAY_JOB_ID")
    if array:
        return f"{array}_{os.environ.get('SLURM_ARRAY_TASK_ID', '')}"
    return os.environ.get("SLURM_JOB_ID")


def _me() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "slurm_job": _slurm_job(), "since": time.time()}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def _is_gone(holder: dict[str, Any]) -> bool:
    """Whether the recorded holder has certainly stopped: a dead pid here, or an earlier run of this job."""
    if holder.get("slurm_job") and holder["slurm_job"] == _slurm_job() and holder.get("pid") != os.getpid():
        return True
    return holder.get("host") == socket.gethostname() and not _pid_alive(int(holder.get("pid", 0)))


class RunLock:
    """`with RunLock(run_dir):` hold the run dir's lock (a no-op on DDP ranks > 0)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        from nlp_transfer.distributed import global_rank

        if global_rank() == 0:
            self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._lock(fd)
        except BaseException:
            os.close(fd)
            raise
        previous = _read_holder(fd)
        if previous:
            log.warning(
                "Taking over %s from pid %s on %s, which is no longer running.",
                self.path, previous.get("pid"), previous.get("host"),
            )  # fmt: skip
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(_me()) + "\n").encode(), 0)
        os.fsync(fd)
        self._fd = fd

    def _lock(self, fd: int) -> None:
        deadline = time.monotonic() + REQUEUE_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                holder = _read_holder(fd)
                same_job = bool(holder.get("slurm_job")) and holder.get("slurm_job") == _slurm_job()
                if not same_job or time.monotonic() > deadline:
                    raise RunDirLocked(self._held_message(holder)) from None
                time.sleep(2.0)  # an earlier incarnation of this requeued job, its lease not yet expired
            except OSError as err:
                if err.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                    raise
                holder = _read_holder(fd)  # a file system without locks: the content decides
                if holder and not _is_gone(holder):
                    raise RunDirLocked(self._held_message(holder)) from None
                log.warning("%s: no file locks on this file system; the pid in it decides.", self.path)
                return

    def _held_message(self, holder: dict[str, Any]) -> str:
        who = f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}"
        if holder.get("slurm_job"):
            who += f" (SLURM job {holder['slurm_job']})"
        return (
            f"{self.path.parent} is in use by another training process ({who}): one run dir has one "
            f"writer. Wait for it to finish, or run this config under another run_id=…; if that process is "
            f"certainly gone (e.g. its host died), delete {self.path} and rerun."
        )

    def release(self) -> None:
        """Mark the lock free and unlock it; the file stays (see the module docstring)."""
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None


def live_holder(run_dir: str | Path) -> dict[str, Any] | None:
    """Who is training in `run_dir` now (pid, host, SLURM job), or None when nobody is.

    Read from the lock file's content, never by taking the lock (a probe that took it, even shared,
    could make a job starting at that instant fail): a holder clears the content when it releases, and
    one that died is recognised by its pid (this host) or by being an earlier run of this SLURM job.
    A holder on another host cannot be checked from here and counts as live. Used by the end of a
    sweep, where another worker of the same sweep may still be training a job (`sweep_status`).
    """
    path = Path(run_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # no lock file: never started here
        return None
    try:
        holder = _read_holder(fd)
    finally:
        os.close(fd)
    return holder if holder and not _is_gone(holder) else None


def _read_holder(fd: int) -> dict[str, Any]:
    """The holder recorded in the lock file, {} when free or unreadable."""
    try:
        text = os.pread(fd, 4096, 0).decode(errors="replace").strip()
        holder = json.loads(text) if text else {}
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}
