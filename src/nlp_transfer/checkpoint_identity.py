"""What a checkpoint was trained as, stored in it, and checked before any of its state is loaded.

Every checkpoint of a `TransferModule` holds `IDENTITY_KEY`: the strategy class, task name, task level,
label names and backbone name. Resuming (`ckpt_path=…` or auto-resume) and `eval.py` compare it with
the run at hand first, so a checkpoint of another strategy/task/backbone is refused naming both sides
instead of failing deep inside `load_state_dict` with `Unexpected key(s)` or `size mismatch`.

A checkpoint written before the block existed is accepted with a warning: refusing it would strand
every interrupted run and every finished run's `eval.py`, while the block guards usability, not
security (the weights-only loader in `checkpoint_io` does that), and a real mismatch still fails in
the strict `load_state_dict` that follows.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from nlp_transfer.checkpoint_io import CheckpointError

log = logging.getLogger(__name__)

IDENTITY_KEY = "nlp_transfer_identity"
IDENTITY_FIELDS = ("strategy", "task", "level", "label_names", "backbone")


class CheckpointMismatchError(CheckpointError):
    """The checkpoint was trained as another strategy, task or backbone than this run."""


def describe_identity(identity: dict[str, Any]) -> str:
    """One line: `strategy=… task=… level=… label_names=[…] backbone=…` (unknown fields left out)."""
    return " ".join(f"{k}={identity[k]}" for k in IDENTITY_FIELDS if identity.get(k) is not None)


def check_identity(checkpoint: dict[str, Any], expected: dict[str, Any], path: str | Path | None) -> None:
    """Refuse `checkpoint` unless what it was trained as matches `expected` (this run).

    A field this run does not know (None: e.g. a module built outside train.py/eval.py) is not compared.
    """
    stored = checkpoint.get(IDENTITY_KEY)
    if stored is None:
        log.warning(
            "Checkpoint %s holds no identity block (written before it existed): not checked against "
            "this run (%s).",
            path,
            describe_identity(expected),
        )
        return
    differs = [
        field
        for field in IDENTITY_FIELDS
        if expected.get(field) is not None and stored.get(field) != expected[field]
    ]
    if differs:
        raise CheckpointMismatchError(
            f"Checkpoint {path} was trained as [{describe_identity(stored)}], but this run is "
            f"[{describe_identity(expected)}]: they differ in {', '.join(differs)}. Point ckpt_path= at a "
            f"checkpoint of the same strategy, task and backbone (or evaluate the run it came from)."
        )
