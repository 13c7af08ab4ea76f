"""The one way this project reads a checkpoint: tensors and plain data only, never arbitrary pickles.

A `.ckpt` is a pickle, and unpickling runs whatever callables the file names (an object whose
`__reduce__` returns `os.system` runs a shell command on load). `torch.load(weights_only=True)`
only rebuilds tensors, storages and plain containers (dict, list, tuple, str, numbers, None, ...)
plus the types in `SAFE_CHECKPOINT_TYPES`; any other global in the file is refused before it runs.

Every checkpoint read in `src/` goes through `load_checkpoint`, and every Lightning `fit`/`validate`/
`test` with a `ckpt_path` is given `weights_only=True` (`LIGHTNING_LOAD`), so Lightning's own read of
the same file refuses it too (and `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD` cannot turn that off).
"""

from __future__ import annotations

import contextlib
import pickle
import re
from pathlib import Path
from typing import Any

#: Types beyond torch's built-in weights-only set that a checkpoint of this project may hold, each
#: with why. Empty: checkpoints of every strategy (fine_tune, dann, cdan, coral, mmd, lora, udalm,
#: feature_extraction, gradual_unfreeze) at both task levels hold only tensors and plain data --
#: hyper_parameters are plain values (the module is built with `_convert_="all"`), callback states
#: (ModelCheckpoint, ValidatorSelection) and loop progress are dicts, optimizer/LR scheduler states are
#: dicts of tensors and numbers (LambdaLR stores `lr_lambdas` as None). tests/test_checkpoint_safety.py
#: loads every strategy's real checkpoint with this list. A new type must never be added for a project
#: object saved by accident: save plain data instead.
SAFE_CHECKPOINT_TYPES: tuple[type, ...] = ()

#: keyword arguments for `trainer.fit/validate/test(ckpt_path=…)`: Lightning reads the file weights-only
LIGHTNING_LOAD: dict[str, Any] = {"weights_only": True}


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read, or is not one this run may load."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint holds a type outside the allow-list: loading it could run arbitrary code."""


def load_checkpoint(path: str | Path, mmap: bool = False) -> dict[str, Any]:
    """The checkpoint at `path`, loaded weights-only on the CPU; refused if it holds any other type."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint not found: {path}")
    allowed = (
        torch.serialization.safe_globals(list(SAFE_CHECKPOINT_TYPES))
        if SAFE_CHECKPOINT_TYPES
        else contextlib.nullcontext()
    )
    try:
        with allowed:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f"Refused to load checkpoint {path}: it holds {_refused_global(err)}, which is not a tensor "
            "or plain data, and unpickling it could run arbitrary code. Checkpoints written by this "
            "project never hold such objects; do not load this file. (A trusted file that needs a new "
            "type: add it, with why, to SAFE_CHECKPOINT_TYPES in nlp_transfer/checkpoint_io.py.)"
        ) from None
    except Exception as err:
        raise CheckpointError(f"Cannot read checkpoint {path} ({type(err).__name__}: {err})") from err
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not a Lightning checkpoint: it holds a {type(state).__name__}")
    return state


def _refused_global(err: pickle.UnpicklingError) -> str:
    """The global torch refused (e.g. `posix.system`), from its error text, else a generic phrase."""
    found = re.search(r"GLOBAL ([\w.]+)", str(err))
    return f"the global `{found.group(1)}`" if found else "an object a weights-only load does not allow"
