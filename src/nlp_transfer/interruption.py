"""Ctrl-C and SIGTERM end a run as `interrupted` (resumable), not as a failure.

Without this, SIGINT reaches train() as Lightning's `sys.exit(1)` (it turns KeyboardInterrupt inside
`fit` into SystemExit) and SIGTERM outside `fit` kills the process before anything is recorded. While a
run is in progress, `Interruptions` turns both signals into a KeyboardInterrupt and remembers which one
came, so train.py can record `status: interrupted` and exit with 128 + the signal number. During `fit`
Lightning chains its own SIGTERM handler before this one (it tells DDP ranks to stop), so both run.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunInterrupted(KeyboardInterrupt):
    """The run was stopped by a signal; its record says `interrupted` and a rerun resumes it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class Interruptions:
    """`with Interruptions() as caught:` SIGINT/SIGTERM raise KeyboardInterrupt; `caught.signum`: which."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:  # a second Ctrl-C during the shutdown must not hide the first
            self.signum = signum
            raise KeyboardInterrupt(signal.Signals(signum).name)

    def __enter__(self) -> Interruptions:
        if threading.current_thread() is threading.main_thread():  # signals are the main thread's
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def as_error(self, err: BaseException) -> RunInterrupted | None:
        """The interruption `err` stands for (a signal, or a Ctrl-C that arrived unhandled), else None."""
        if self.signum is not None:
            return RunInterrupted(self.signum)
        if isinstance(err, KeyboardInterrupt):
            return RunInterrupted(signal.SIGINT)
        return None
