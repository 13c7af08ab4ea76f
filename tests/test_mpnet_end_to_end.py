"""`backbone=mpnet` (all-mpnet-base-v2 from its five PyPI zip pieces) trains offline on a small slice.

MPNet costs ≈ 6x MiniLM per token, so the slice is tiny (16 examples, 32 tokens, 2 steps): these runs show
that the backbone loads from the pieces, that every strategy's assumptions hold for it (pooling, LoRA's
target names q/v, the layer stack for gradual unfreezing, the tied MLM head of UDALM), and that results
are written; they measure nothing. Needs the packages (`make install-mpnet`; CI installs them).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from nlp_transfer.models.packaged_pieces import ALL_MPNET_BASE_V2, MARKER, piece_paths

SMALL_SLICE = [
    "backbone=mpnet", "task.max_length=32", "task.batch_size=8", "task.max_train_examples=16",
    "task.max_eval_examples=16", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
]  # fmt: skip


@pytest.fixture(scope="module")
def mpnet_cache(tmp_path_factory) -> Path:
    """One unpacked copy of the model for the module (joining and verifying takes ≈ 10 s and 420 MB)."""
    piece_paths(ALL_MPNET_BASE_V2)  # fails with the install command when the packages are missing
    return tmp_path_factory.mktemp("mpnet_cache")


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["fine_tune", "dann"])
def test_mpnet_trains_offline_on_a_small_slice(strategy: str, run_training, mpnet_cache: Path) -> None:
    record = run_training(
        f"strategy={strategy}", *SMALL_SLICE,
        f"backbone.encoder.cache_dir={mpnet_cache}", f"backbone.tokenizer.cache_dir={mpnet_cache}",
    )  # fmt: skip
    assert record["status"] == "ok", record.get("error")
    assert record["config"]["backbone"] == "mpnet"
    assert (mpnet_cache / "models" / ALL_MPNET_BASE_V2.name / MARKER).is_file()
    accuracy = record["metrics"]["target/test/acc"]
    assert math.isfinite(accuracy) and 0.0 <= accuracy <= 1.0
