"""Finished tiny runs (sentiment and NER) and their exports, shared by the export and predict tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TINY_FAST, compose_config

FRESH_SCRIPT = Path(__file__).with_name("fresh_transformers.py")


def train_tiny(root: Path, *overrides: str, base: tuple[str, ...] = tuple(TINY_FAST)) -> Path:
    """Train a tiny run (or `base`) in-process into `<root>/run` (default retention); returns its run dir."""
    from nlp_transfer.train import train

    run_dir = root / "run"
    train(compose_config([*base, *overrides, f"paths.cache_dir={root / 'cache'}"], run_dir))
    return run_dir


def fresh_predictions(folder: Path, level: str, inputs: list, tmp: Path) -> list:
    """What `fresh_transformers.py` predicts for `inputs` in a new interpreter (transformers only)."""
    job = tmp / "job.json"
    job.write_text(json.dumps({"folder": str(folder), "level": level, "inputs": inputs}), encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    done = subprocess.run(
        [sys.executable, str(FRESH_SCRIPT), str(job)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def sentiment_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("sentiment"))


@pytest.fixture(scope="session")
def ner_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("ner"), "task=ner")


@pytest.fixture(scope="session")
def sentiment_export(sentiment_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from nlp_transfer.export.run_export import export_run

    return export_run(sentiment_run, tmp_path_factory.mktemp("exported") / "sentiment")


@pytest.fixture(scope="session")
def ner_export(ner_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from nlp_transfer.export.run_export import export_run

    return export_run(ner_run, tmp_path_factory.mktemp("exported") / "ner")
