"""What a finished run keeps on disk: its chosen model as weights only, not two full checkpoints.

A Lightning checkpoint holds the optimizer state too (AdamW: two moments per weight), so a MiniLM run's
`last.ckpt` and best checkpoint are ≈ 270 MB each, and a 96-job sweep leaves ≈ 50 GB. Once a run has
finished (status ok) nothing will resume it, so by default (`keep_checkpoints: chosen`) it keeps the
model its `checkpoint_metric` chose as `checkpoints/model.safetensors` (≈ 90 MB for MiniLM) and removes
`last.ckpt`, the full best checkpoint and any SLURM `hpc_ckpt_<n>.ckpt`. The order makes every crash
safe: the weights file is written first, then results.json (status ok, naming the file), and only then
are the checkpoints removed. A run that fails or is interrupted never gets here, so it keeps its
`last.ckpt` and the same command resumes it. `keep_checkpoints: all` keeps everything, as before.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from nlp_transfer.checkpoint_identity import IDENTITY_KEY
from nlp_transfer.run_weights import KEPT_WEIGHTS, save_weights

log = logging.getLogger(__name__)

KEEP_CHOICES = ("chosen", "all")


def check_keep_checkpoints(value: Any) -> str:
    """The `keep_checkpoints` setting, refused early when it is neither `chosen` nor `all`."""
    if value not in KEEP_CHOICES:
        raise ValueError(
            f"keep_checkpoints={value!r}: use `chosen` (keep the chosen model's weights only, the default) "
            "or `all` (keep last.ckpt and the full best checkpoint too)."
        )
    return str(value)


def keep_chosen_weights(output_dir: str | Path, model: Any, best_path: str | None) -> str:
    """Write the chosen model's weights (the best checkpoint's, else the model's own) and return their
    path relative to the run dir, for `results.json`'s `selection.weights`."""
    from nlp_transfer.checkpoint_io import load_checkpoint
    from nlp_transfer.distributed import global_rank

    if global_rank() == 0:
        if best_path:
            state = load_checkpoint(best_path)
            state_dict, identity = state["state_dict"], state.get(IDENTITY_KEY)
        else:
            state_dict, identity = model.state_dict(), None
        identity = identity or model.checkpoint_identity()
        save_weights(Path(output_dir) / KEPT_WEIGHTS, state_dict, identity)
    return str(KEPT_WEIGHTS)


def full_checkpoints(output_dir: str | Path) -> list[Path]:
    """The run's full Lightning checkpoints: `checkpoints/*.ckpt` and SLURM's `hpc_ckpt_<n>.ckpt`.

    The few-shot phase's own checkpoints (`checkpoints/target_finetune/`) are a separate model and stay.
    """
    output_dir = Path(output_dir)
    return sorted([*(output_dir / "checkpoints").glob("*.ckpt"), *output_dir.glob("hpc_ckpt_*.ckpt")])


def remove_full_checkpoints(output_dir: str | Path) -> int:
    """Delete a finished run's full checkpoints (rank 0 only); returns the bytes freed."""
    from nlp_transfer.distributed import global_rank

    if global_rank() != 0:
        return 0
    freed = 0
    for path in full_checkpoints(output_dir):
        freed += path.stat().st_size
        path.unlink(missing_ok=True)
    if freed:
        log.info("Run finished: kept %s, removed %.0f MB of full checkpoints (keep_checkpoints=all keeps "
                 "them).", Path(output_dir) / KEPT_WEIGHTS, freed / 2**20)  # fmt: skip
    return freed
