"""The trainer's precision: `auto` picks bf16 autocast where the hardware computes bf16 natively, an explicit
value wins, the resolved value reaches the run fingerprint, and real bf16 runs on the CPU finish with
finite numbers (metrics, validator scores, prediction files, a feature cache of their own)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from nlp_transfer.adaptation.coral import CoralLoss
from nlp_transfer.adaptation.mmd import MultiKernelMMD
from nlp_transfer.assembly import build_data_and_model
from nlp_transfer.precision import auto_precision, cpu_flags, resolve_precision, used_precision
from nlp_transfer.results.predictions import prediction_path, read_predictions
from nlp_transfer.run_identity import run_identity
from tests.conftest import compose_config

# without the conftest's pinned `trainer.precision=32-true`: the config's own default
AUTO = ["backbone=tiny", "debug=smoke"]
BF16 = "trainer.precision=bf16-mixed"


@pytest.mark.parametrize(
    ("accelerator", "flags", "cuda", "cuda_bf16", "expected"),
    [
        ("cpu", {"avx2", "avx512f", "avx512_bf16"}, False, False, "bf16-mixed"),  # Zen 4, Cooper Lake
        ("cpu", {"avx2", "amx_tile", "amx_bf16"}, False, False, "bf16-mixed"),  # Sapphire Rapids
        ("cpu", {"avx2", "avx512f", "avx512_vnni"}, False, False, "32-true"),  # Skylake/Cascade Lake
        ("cpu", set(), True, True, "32-true"),  # accelerator=cpu on a GPU machine: the CPU decides
        ("auto", {"avx512_bf16"}, False, False, "bf16-mixed"),  # auto without CUDA is the CPU
        ("auto", set(), True, True, "bf16-mixed"),  # Ampere or newer
        ("auto", {"avx512_bf16"}, True, False, "32-true"),  # V100/T4: the GPU runs, not the CPU
        ("gpu", set(), True, True, "bf16-mixed"),
        ("cuda", set(), True, False, "32-true"),
        ("gpu", {"avx512_bf16"}, False, False, "32-true"),  # no CUDA: Lightning fails on its own
        ("mps", {"avx512_bf16"}, False, False, "32-true"),
        ("CPU", {"amx_bf16"}, False, False, "bf16-mixed"),
    ],
)
def test_auto_precision_is_a_function_of_the_accelerator_and_the_hardware(
    accelerator: str, flags: set[str], cuda: bool, cuda_bf16: bool, expected: str
) -> None:
    assert auto_precision(accelerator, flags, cuda, cuda_bf16) == expected


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx512f avx512_bf16\n\n")
    assert cpu_flags(cpuinfo) == {"fpu", "sse2", "avx512f", "avx512_bf16"}
    # without /proc/cpuinfo (macOS, Windows) torch's own queries answer: a subset of the bf16 flags
    assert cpu_flags(tmp_path / "missing") <= {"avx512_bf16", "amx_bf16"}


def test_the_default_is_auto_resolved_and_an_explicit_precision_wins(tmp_path: Path) -> None:
    for trainer in ("default", "cpu"):
        cfg = compose_config([*AUTO, f"trainer={trainer}"])
        assert cfg.trainer.precision == resolve_precision(cfg.trainer.accelerator)
    assert compose_config([*AUTO, "trainer=cpu", "trainer.precision=32-true"]).trainer.precision == "32-true"
    built = pl.Trainer(
        precision=compose_config([*AUTO, "trainer=cpu", BF16]).trainer.precision,
        accelerator="cpu", logger=False, enable_progress_bar=False,
    )  # fmt: skip
    assert used_precision(built) == "bf16-mixed"


def test_the_run_fingerprint_sees_the_resolved_precision(tmp_path: Path) -> None:
    """A bf16 run and an fp32 run are different runs: a rerun may not resume one as the other."""
    auto = run_identity(compose_config([*AUTO, "trainer=cpu"], tmp_path / "a"))
    assert auto["config"]["trainer"]["precision"] == resolve_precision("cpu")  # a value, not "auto"
    fp32 = run_identity(compose_config([*AUTO, "trainer=cpu", "trainer.precision=32-true"], tmp_path / "b"))
    bf16 = run_identity(compose_config([*AUTO, "trainer=cpu", BF16], tmp_path / "c"))
    assert fp32["fingerprint"] != bf16["fingerprint"]
    assert auto["fingerprint"] in (fp32["fingerprint"], bf16["fingerprint"])


@pytest.mark.parametrize("loss", [MultiKernelMMD(), CoralLoss()], ids=["mmd", "coral"])
def test_statistics_losses_stay_float32_under_bf16_autocast(loss: torch.nn.Module) -> None:
    """Autocast would run their matmuls in bf16 (CORAL ~0.4% off, MMD² of similar domains worse)."""
    generator = torch.Generator().manual_seed(0)
    source = torch.randn(16, 384, generator=generator, requires_grad=True)
    target = torch.randn(16, 384, generator=generator) + 0.05
    exact = loss(source, target)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = loss(source, target)
    assert mixed.dtype == torch.float32
    assert mixed.item() == pytest.approx(exact.item(), rel=1e-5)
    mixed.backward()
    assert torch.isfinite(source.grad).all()


def _finite_metrics(record: dict) -> None:
    assert record["status"] == "ok"
    for name in ("source/val/acc", "source/val/loss", "target/test/acc", "target/test/loss"):
        assert math.isfinite(record["metrics"][name]), name


@pytest.mark.parametrize("strategy", ["fine_tune", "dann"])
def test_a_bf16_cpu_run_finishes_with_finite_metrics_scores_and_predictions(run_training, strategy) -> None:
    record = run_training(f"strategy={strategy}", BF16, "trainer.accelerator=cpu")
    _finite_metrics(record)
    assert record["config"]["resolved"]["trainer"]["precision"] == "bf16-mixed"
    points = record["selection"]["points"]
    scores = [v for point in points for key, v in point.items() if key not in ("step", "epoch")]
    assert scores and all(isinstance(v, float) and math.isfinite(v) for v in scores if v is not None)
    predictions = read_predictions(prediction_path(record["output_dir"], "kitchen"))
    assert predictions.probs.dtype == np.float16 and np.isfinite(predictions.probs).all()
    assert np.allclose(predictions.probs.astype(np.float64).sum(axis=1), 1.0, atol=1e-2)
    assert np.array_equal(predictions.pred, predictions.probs.astype(np.float32).argmax(axis=1)) or (
        np.mean(predictions.pred == predictions.probs.argmax(axis=1)) > 0.95  # float16 may tie two
    )


def test_feature_cache_keeps_bf16_and_fp32_features_apart(run_training, tmp_path: Path) -> None:
    """bf16 features differ from fp32 ones: another precision must encode anew, the same one reuses."""
    features = tmp_path / "cache" / "features"
    common = ("strategy=feature_extraction", "selection=none", "trainer.accelerator=cpu")
    fp32 = run_training(*common, output_dir=tmp_path / "fp32")
    fp32_files = set(features.glob("*.pt"))
    bf16 = run_training(*common, BF16, output_dir=tmp_path / "bf16")
    bf16_files = set(features.glob("*.pt")) - fp32_files
    assert len(fp32_files) == len(bf16_files) == 4  # source train/val/test, target test: one key each
    run_training(*common, BF16, output_dir=tmp_path / "bf16_again")
    assert set(features.glob("*.pt")) == fp32_files | bf16_files  # same precision: nothing new
    _finite_metrics(fp32)
    _finite_metrics(bf16)


def test_evaluation_runs_under_inference_mode_in_the_run_precision(tmp_path: Path) -> None:
    """Lightning's validate/test run under `torch.inference_mode` (Trainer(inference_mode=True), the default
    our trainer config keeps) and inside the precision plugin's autocast."""
    cfg = compose_config([*AUTO, "trainer=cpu", BF16, f"paths.cache_dir={tmp_path}"], tmp_path)
    datamodule, model = build_data_and_model(cfg)
    seen: list[tuple[bool, bool, torch.dtype]] = []

    def hook(module, args, output) -> None:
        seen.append((torch.is_inference_mode_enabled(), torch.is_autocast_enabled("cpu"), output.dtype))

    handle = model.head.register_forward_hook(hook)
    try:
        trainer = pl.Trainer(
            precision=cfg.trainer.precision, accelerator="cpu", logger=False, enable_progress_bar=False,
            limit_val_batches=1, limit_test_batches=1, enable_model_summary=False, default_root_dir=tmp_path,
        )  # fmt: skip
        trainer.validate(model, datamodule=datamodule, verbose=False)
        trainer.test(model, datamodule=datamodule, verbose=False)
    finally:
        handle.remove()
    assert len(seen) == 3  # one validation batch, one batch of each of the two test splits
    assert all(row == (True, True, torch.bfloat16) for row in seen)
