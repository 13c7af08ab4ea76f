"""The one way eval.py, export and predict find and load a run's model.

A finished run keeps its chosen model as `checkpoints/model.safetensors` (weights only, see
checkpoint_retention.py) and names it in `results.json` (`selection.weights`); a run kept with
`keep_checkpoints=all`, an older run, or an explicit path is read from a Lightning `.ckpt` weights-only
(checkpoint_io). Either way the caller gets `{"state_dict": …, IDENTITY_KEY: …}`, the same shape as a
checkpoint, so `check_identity` guards every load before any weight is copied.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nlp_transfer.checkpoint_identity import IDENTITY_KEY
from nlp_transfer.checkpoint_io import CheckpointError, load_checkpoint
from nlp_transfer.results.record import RunRecord

KEPT_WEIGHTS = Path("checkpoints") / "model.safetensors"
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"


def kept_weights_path(run_dir: str | Path, record: RunRecord) -> Path | None:
    """The run's kept weights file, when its record names one (a finished run after retention)."""
    name = (record.selection.model_extra or {}).get("weights") if record.selection else None
    return Path(run_dir) / name if name else None


def run_weights_path(run_dir: str | Path, record: RunRecord, which: str = "best") -> Path:
    """`best`: the kept weights, else the recorded best checkpoint, else last.ckpt; `last`; or a path.

    After retention `last.ckpt` is gone: `checkpoint=last` then says so and names the way to keep it.
    """
    run_dir = Path(run_dir)
    kept = kept_weights_path(run_dir, record)
    if which == "best":
        chosen = record.selection.checkpoint if record.selection else None
        candidates = [kept, Path(chosen) if chosen else None, run_dir / LAST_CHECKPOINT]
        path = next((p for p in candidates if p is not None and p.is_file()), candidates[-1])
    elif which == "last":
        path = run_dir / LAST_CHECKPOINT
        if not path.is_file() and kept is not None:
            raise FileNotFoundError(
                f"{path} no longer exists: when the run finished only its chosen model was kept, as "
                f"{kept} (weights only). Use checkpoint=best for it, or train with keep_checkpoints=all "
                "to keep last.ckpt and the full best checkpoint."
            )
    else:
        path = Path(which)
    if not path.is_file():
        raise FileNotFoundError(f"Checkpoint not found: {path} (checkpoint=best|last|<path>)")
    return path


def load_weights(path: str | Path) -> dict[str, Any]:
    """`{"state_dict", IDENTITY_KEY}` from a `.safetensors` file (never code) or a `.ckpt` (weights-only)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        return load_checkpoint(path)
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            state_dict = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except Exception as err:
        raise CheckpointError(f"Cannot read weights {path} ({type(err).__name__}: {err})") from err
    identity = json.loads(metadata[IDENTITY_KEY]) if IDENTITY_KEY in metadata else None
    return {"state_dict": state_dict, IDENTITY_KEY: identity}


def save_weights(path: str | Path, state_dict: dict[str, Any], identity: dict[str, Any]) -> Path:
    """Write `state_dict` as safetensors with the module's identity in its metadata, atomically.

    Tensors are cloned: safetensors refuses tensors that share memory (e.g. an MLM decoder tied to the
    word embeddings), and a clone also makes them contiguous.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {key: value.detach().cpu().clone().contiguous() for key, value in state_dict.items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={IDENTITY_KEY: json.dumps(identity)})
    tmp.replace(path)
    return path


def load_run_weights(run_dir: str | Path, which: str = "best") -> tuple[Path, dict[str, Any]]:
    """(path, state) of a finished run's model: what eval.py, export and predict all load."""
    from nlp_transfer.eval import finished_run_dir
    from nlp_transfer.results.record import read_record

    run_dir = finished_run_dir(run_dir)
    path = run_weights_path(run_dir, read_record(run_dir), which)
    return path, load_weights(path)
