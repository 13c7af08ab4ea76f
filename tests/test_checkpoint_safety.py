"""Checkpoints load weights-only, carry what they were trained as, and eval.py refuses a missing run dir."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nlp_transfer.checkpoint_identity import IDENTITY_KEY
from nlp_transfer.checkpoint_io import UnsafeCheckpointError, load_checkpoint
from nlp_transfer.config import PROJECT_ROOT
from nlp_transfer.results.record import read_results
from tests.conftest import TINY_FAST

STRATEGIES = [
    "fine_tune", "dann", "lora", "udalm", "feature_extraction", "gradual_unfreeze", "mmd", "coral", "cdan",
]  # fmt: skip


class TouchOnUnpickle:
    """Unpickling this creates `path`: a stand-in for a checkpoint that runs a shell command."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def _python(script: str, *overrides: str, cache_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NLP_TRANSFER_CACHE": str(cache_dir), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(PROJECT_ROOT / script), *overrides]
    return subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)


def _train(run_dir: Path, cache_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    return _python("train.py", *TINY_FAST, f"hydra.run.dir={run_dir}", *overrides, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny fine_tune run on sentiment (train.py in a subprocess), shared by this module."""
    root = tmp_path_factory.mktemp("safety")
    done = _train(root / "run", root / "cache", "keep_checkpoints=all")  # its last.ckpt is read below
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "run"


@pytest.fixture
def malicious(finished_run: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(a real checkpoint plus an object that creates `marker` when unpickled, marker)."""
    marker = tmp_path / "unpickled_and_ran_code"
    state = torch.load(finished_run / "checkpoints" / "last.ckpt", weights_only=True)
    state["callbacks"]["Injected"] = {"payload": TouchOnUnpickle(marker)}
    path = tmp_path / "malicious.ckpt"
    torch.save(state, path)
    return path, marker


def _assert_refused(done: subprocess.CompletedProcess, checkpoint: Path, marker: Path) -> None:
    assert done.returncode != 0
    assert f"Refused to load checkpoint {checkpoint}" in done.stderr, done.stderr[-3000:]
    assert "the global `getattr`" in done.stderr  # what the file asked to run, named
    assert not marker.exists(), "the checkpoint's code ran"


def test_the_marker_object_really_runs_code_when_unpickled_unsafely(malicious) -> None:
    path, marker = malicious
    torch.load(path, weights_only=False)  # what the project used to do
    assert marker.exists()


def test_resume_via_ckpt_path_refuses_a_malicious_checkpoint(malicious, tmp_path: Path) -> None:
    path, marker = malicious
    done = _train(tmp_path / "run", tmp_path.parent / "cache", f"ckpt_path={path}")
    _assert_refused(done, path, marker)
    assert read_results(tmp_path / "run")["status"] == "failed"


def test_auto_resume_refuses_a_malicious_last_ckpt(finished_run: Path, malicious, tmp_path: Path) -> None:
    path, marker = malicious
    run_dir = tmp_path / "interrupted"
    shutil.copytree(finished_run, run_dir, ignore=shutil.ignore_patterns("results.json"))
    shutil.copy(path, run_dir / "checkpoints" / "last.ckpt")  # the same command rerun finds and resumes it
    done = _train(run_dir, tmp_path / "cache")
    _assert_refused(done, run_dir / "checkpoints" / "last.ckpt", marker)


def test_eval_refuses_a_malicious_checkpoint(finished_run: Path, malicious, tmp_path: Path) -> None:
    path, marker = malicious
    done = _python("eval.py", f"run_dir={finished_run}", f"checkpoint={path}", cache_dir=tmp_path / "cache")
    _assert_refused(done, path, marker)


@pytest.mark.parametrize(
    ("override", "mine", "theirs"),
    [
        ("strategy=dann", "nlp_transfer.strategies.dann.DANN", "nlp_transfer.strategies.fine_tune.FineTune"),
        ("task=ner", "task=ner", "task=sentiment"),
    ],
)
def test_a_checkpoint_of_another_strategy_or_task_is_refused_naming_both(
    finished_run: Path, tmp_path: Path, override: str, mine: str, theirs: str
) -> None:
    checkpoint = finished_run / "checkpoints" / "last.ckpt"
    done = _train(tmp_path / "run", finished_run.parent / "cache", override, f"ckpt_path={checkpoint}")
    assert done.returncode != 0
    message = re.search(r"CheckpointMismatchError: (.*)", done.stderr)
    assert message, done.stderr[-3000:]
    trained_as, this_run = message.group(1).split("but this run is")
    assert str(checkpoint) in trained_as and theirs in trained_as and mine not in trained_as
    assert mine in this_run and theirs not in this_run
    assert "Unexpected key" not in done.stderr and "size mismatch" not in done.stderr


def test_eval_on_a_missing_run_dir_says_so_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "runs" / "typo"
    done = _python("eval.py", f"run_dir={missing}", cache_dir=tmp_path / "cache")
    assert done.returncode != 0
    assert f"run_dir={missing} does not exist" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_eval_on_a_dir_without_results_json_says_so_and_writes_nothing(tmp_path: Path) -> None:
    done = _python("eval.py", f"run_dir={tmp_path}", cache_dir=tmp_path / "cache")
    assert done.returncode != 0
    assert f"run_dir={tmp_path} holds no results.json" in done.stderr
    assert not (tmp_path / "eval").exists()


def test_eval_of_the_run_still_works_and_writes_eval_json(finished_run: Path, tmp_path: Path) -> None:
    done = _python("eval.py", f"run_dir={finished_run}", cache_dir=tmp_path / "cache")
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(list((finished_run / "eval").glob("*/eval.json"))) == 1


def test_no_unsafe_torch_load_in_src() -> None:
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}"
        for path in (PROJECT_ROOT / "src").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "weights_only=False" in line.replace(" ", "")
    ]
    assert offenders == []


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategys_checkpoints_load_weights_only_and_carry_their_identity(
    run_training, strategy: str
) -> None:
    record = run_training(f"strategy={strategy}", "keep_checkpoints=all")  # both full checkpoints kept
    paths = sorted((record["output_dir"] / "checkpoints").glob("*.ckpt"))
    assert len(paths) == 2  # the best (source val) and last.ckpt
    for path in paths:
        state = load_checkpoint(path)  # the project's only loader: weights-only, empty allow-list
        assert {"state_dict", "optimizer_states", "lr_schedulers", "loops", "callbacks"} <= set(state)
        identity = state[IDENTITY_KEY]
        assert identity["task"] == "sentiment" and identity["backbone"] == "tiny"
        assert identity["strategy"].startswith(f"nlp_transfer.strategies.{strategy}.")
        assert identity["level"] == "sequence" and identity["label_names"] == ["negative", "positive"]


def test_a_checkpoint_from_before_the_identity_block_is_evaluated_with_a_warning(
    finished_run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from nlp_transfer.eval import evaluate

    state = load_checkpoint(finished_run / "checkpoints" / "last.ckpt")
    del state[IDENTITY_KEY]
    old = tmp_path / "old.ckpt"
    torch.save(state, old)
    metrics = evaluate(finished_run, checkpoint=str(old))
    assert "target/test/acc" in metrics
    warnings = [r.getMessage() for r in caplog.records if "holds no identity block" in r.getMessage()]
    assert warnings and str(old) in warnings[0]


def test_load_checkpoint_refuses_in_process_too(malicious) -> None:
    path, marker = malicious
    with pytest.raises(UnsafeCheckpointError, match="could run arbitrary code"):
        load_checkpoint(path)
    assert not marker.exists()
