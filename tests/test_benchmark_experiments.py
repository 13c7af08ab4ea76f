"""The benchmark experiments' plans, and that a rerun with a longer grid trains only the missing cells."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, compose_config
from tests.test_run_identity import _train_py
from tests.test_transfer_grid_sweeper import DOMAINS, plan, values

CPU_PAIRS = ["books-kitchen", "kitchen-dvd", "dvd-electronics", "electronics-books"]
STRATEGIES = {"fine_tune", "feature_extraction", "gradual_unfreeze", "lora", "udalm", "dann", "cdan", "mmd",
              "coral", "mcc", "bnm", "self_training"}  # fmt: skip


def test_the_cpu_benchmark_is_every_strategy_on_four_pairs_each_domain_once_per_side_three_seeds() -> None:
    jobs = [values(job) for job in plan("experiment=amazon_benchmark_cpu")]
    assert len(jobs) == 3 * 4 * len(STRATEGIES)
    assert {j["strategy"] for j in jobs} == STRATEGIES
    pairs = [j["domain"].removeprefix("amazon_cycle/") for j in jobs]
    assert set(pairs) == set(CPU_PAIRS)
    sources = Counter(p.split("-")[0] for p in set(pairs))
    targets = Counter(p.split("-")[1] for p in set(pairs))
    assert sources == targets == Counter(DOMAINS)  # each domain is source once and target once
    assert [j["seed"] for j in jobs] == sorted(j["seed"] for j in jobs)  # a whole seed before the next
    assert not any("evaluate_on" in j for j in jobs)  # one job per pair: nothing merged


def test_the_full_benchmark_merges_source_only_strategies_over_all_sixteen_pairs() -> None:
    per_strategy = Counter(values(job)["strategy"] for job in plan("experiment=amazon_benchmark"))
    source_only = {"fine_tune", "feature_extraction", "gradual_unfreeze", "lora"}
    assert {s: per_strategy[s] for s in source_only} == {s: 3 * 4 for s in source_only}
    assert {s: n for s, n in per_strategy.items() if s not in source_only} == {
        s: 3 * 16 for s in STRATEGIES - source_only
    }


@pytest.mark.slow
def test_a_rerun_with_another_strategy_added_trains_only_the_new_cells(tmp_path: Path) -> None:
    """Job folders are named by what they run and the seed, so a longer grid keeps the finished ones."""
    fits, sweep_dir = tmp_path / "fits.txt", tmp_path / "sweep"
    common = ["-m", "experiment=amazon_benchmark_cpu", "seed=1", "domain=amazon_cycle/books-kitchen",
              f"hydra.sweep.dir={sweep_dir}", "logger=none",
              "+callbacks.count._target_=tests.test_run_identity.CountFits", f"+callbacks.count.path={fits}",
              "+callbacks.count.seed=${hydra:runtime.choices.strategy}"]  # fmt: skip
    first = _train_py(tmp_path, *common, "strategy=fine_tune")
    assert first.returncode == 0, first.stderr[-3000:]
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith(".")) == [
        "fine_tune_tiny_sentiment_books-kitchen_seed1"
    ]
    rerun = _train_py(tmp_path, *common, "strategy=fine_tune,dann")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert fits.read_text().split() == ["fine_tune", "dann"]  # fine_tune was not trained again


def test_learning_curves_run_on_development_pairs_the_benchmark_never_reports() -> None:
    jobs = [values(job) for job in plan("experiment=learning_curves")]
    assert len(jobs) == 3 * 2 * 5
    dev_pairs = {j["domain"].removeprefix("amazon_dev/") for j in jobs}
    assert dev_pairs == {"books-dvd", "electronics-kitchen"} and not dev_pairs & set(CPU_PAIRS)
    assert {j["strategy"] for j in jobs} == {"fine_tune", "dann", "gradual_unfreeze", "lora", "udalm"}


def test_validator_variety_spreads_each_adaptation_weight_over_the_benchmark_pairs() -> None:
    jobs = [values(job) for job in plan("experiment=validator_variety")]
    assert len(jobs) == 3 * 2 * 4
    assert {(j["strategy"], j["strategy.domain_loss_weight"]) for j in jobs} == {
        (s, w) for s in ("dann", "mcc", "bnm") for w in ("0.1", "10.0")
    }
    assert {j["domain"].removeprefix("amazon_cycle/") for j in jobs} == set(CPU_PAIRS)
    cfg = compose_config(["experiment=validator_variety", "strategy=mcc", "strategy.domain_loss_weight=10.0"])
    assert cfg.trainer.val_check_interval == 0.5 and cfg.task.max_length == 128  # the benchmark's cells
    assert "_w10.0_seed" in cfg.hydra.sweep.subdir  # one folder per weight: nothing overwritten


def test_learning_curves_score_only_source_validation_the_curves_read() -> None:
    """The curves need source_val and the oracle's target score per point; 16 points per run would
    otherwise encode the 512-text target slice for validators nobody reads here."""
    cfg = compose_config(["experiment=learning_curves"])
    targets = [validator["_target_"].rsplit(".", 1)[-1] for validator in cfg.selection.validators]
    assert targets == ["SourceValValidator"] and cfg.selection.get("oracle", True)


#: the sweeps scripts/benchmark_cpu.sh runs and commits under benchmarks/results/<experiment>/runs
SCRIPTED_EXPERIMENTS = (
    "amazon_benchmark_cpu", "validator_variety", "learning_curves", "precision_fp32",
    "tune_da_weights", "tune_lora",
)  # fmt: skip
COMMITTED_RUNS = sorted(
    path
    for experiment in SCRIPTED_EXPERIMENTS
    for path in (PROJECT_ROOT / "benchmarks/results" / experiment / "runs").glob("*/run_identity.json")
)


@functools.cache
def swept_domains(experiment: str) -> tuple[str, ...]:
    """The domain entries an experiment's grid sweeps (composed once per experiment, not once per run)."""
    return tuple(str(compose_config([f"experiment={experiment}"]).hydra.sweeper.params.domain).split(","))


def rerun_overrides(identity_file: Path) -> list[str]:
    """The overrides that select a committed run's cell in its experiment's grid, as the sweep composes it."""
    experiment = identity_file.parents[2].name
    stored = json.loads(identity_file.read_text(encoding="utf-8"))["config"]
    pair = f"{stored['domain']['source']}-{stored['domain']['target']}"
    swept = swept_domains(experiment)
    overrides = [
        f"experiment={experiment}",
        f"strategy={identity_file.parent.name.split('_minilm_')[0]}",
        f"domain={next(d for d in swept if d.endswith('/' + pair))}",
        f"seed={stored['seed']}",
        f"trainer.precision={stored['trainer']['precision']}",  # auto precision depends on the CPU
    ]
    if experiment in ("validator_variety", "tune_da_weights"):
        overrides.append(f"strategy.domain_loss_weight={stored['strategy']['domain_loss_weight']}")
    if experiment == "tune_lora":
        overrides += [
            f"strategy.r={stored['strategy']['r']}",
            f"strategy.optimizer.lr={stored['strategy']['optimizer']['lr']}",
        ]
    return overrides


def committed_run_id(path: Path) -> str:
    return f"{path.parents[2].name}/{path.parent.name}"


def assert_a_rerun_composes_the_same_identity(identity_file: Path, tmp_path: Path) -> None:
    from nlp_transfer.run_identity import _without_excluded, differing_keys, fingerprint, run_identity

    stored = json.loads(identity_file.read_text(encoding="utf-8"))["config"]
    identity = run_identity(compose_config(rerun_overrides(identity_file), tmp_path / "run"))
    old = _without_excluded(stored)
    assert identity["fingerprint"] == fingerprint(old), differing_keys(old, identity["config"])


@pytest.mark.parametrize("identity_file", COMMITTED_RUNS, ids=committed_run_id)
def test_the_committed_benchmark_runs_match_the_config_a_rerun_composes(identity_file, tmp_path) -> None:
    """A config change that alters a benchmark cell's identity would make `scripts/benchmark_cpu.sh` refuse
    the committed runs and silently retrain hours of cells: keep the committed cells valid (or say so)."""
    assert_a_rerun_composes_the_same_identity(identity_file, tmp_path)


@pytest.mark.parametrize(
    ("experiment", "folder", "overrides"),
    [
        ("validator_variety", "mcc_minilm_sentiment_kitchen-dvd_w10.0_seed1",
         ["strategy=mcc", "domain=amazon_cycle/kitchen-dvd", "strategy.domain_loss_weight=10.0", "seed=1"]),
        ("learning_curves", "lora_minilm_sentiment_books-dvd_seed2",
         ["strategy=lora", "domain=amazon_dev/books-dvd", "seed=2"]),
        ("tune_lora", "lora_minilm_sentiment_electronics-kitchen_r16_lr0.002_seed1",
         ["strategy=lora", "domain=amazon_dev/electronics-kitchen", "strategy.r=16",
          "strategy.optimizer.lr=2e-3", "seed=1"]),
        ("tune_da_weights", "coral_minilm_sentiment_books-dvd_w3000.0_seed1",
         ["strategy=coral", "domain=amazon_dev/books-dvd", "strategy.domain_loss_weight=3000.0", "seed=1"]),
    ],
)  # fmt: skip
def test_a_committed_run_of_each_companion_sweep_is_found_again_in_its_grid(
    experiment: str, folder: str, overrides: list[str], tmp_path: Path
) -> None:
    """The check above, for the sweeps whose runs are not committed yet: from a run's stored identity (as
    train.py writes it), the overrides that rerun its cell compose the same identity."""
    from nlp_transfer.run_identity import run_identity

    identity = run_identity(compose_config([f"experiment={experiment}", *overrides], tmp_path / "a"))
    identity_file = tmp_path / experiment / "runs" / folder / "run_identity.json"
    identity_file.parent.mkdir(parents=True)
    identity_file.write_text(json.dumps(identity), encoding="utf-8")
    assert_a_rerun_composes_the_same_identity(identity_file, tmp_path)
    if experiment == "validator_variety":
        assert "strategy.domain_loss_weight=10.0" in rerun_overrides(identity_file)


def test_the_tuning_sweeps_run_on_development_pairs_only_one_folder_per_setting() -> None:
    lora = [values(job) for job in plan("experiment=tune_lora")]
    assert len(lora) == 2 * 2 * 4 and {j["strategy"] for j in lora} == {"lora"}
    assert {(j["strategy.r"], j["strategy.optimizer.lr"]) for j in lora} == {
        (r, lr) for r in ("8", "16") for lr in ("0.0005", "0.001", "0.002", "0.004")
    }
    weights = [values(job) for job in plan("experiment=tune_da_weights")]
    assert len(weights) == 3 * 3 * 2
    assert {(j["strategy"], j["strategy.domain_loss_weight"]) for j in weights} == {
        (s, w) for s in ("dann", "cdan", "mmd") for w in ("0.3", "1.0", "3.0")
    }
    for jobs in (lora, weights):
        dev_pairs = {j["domain"].removeprefix("amazon_dev/") for j in jobs}
        assert dev_pairs == {"books-dvd", "electronics-kitchen"} and not dev_pairs & set(CPU_PAIRS)
        assert {j["seed"] for j in jobs} == {"1"}
    cfg = compose_config(
        ["experiment=tune_lora", "strategy=lora", "strategy.r=16", "strategy.optimizer.lr=1e-3"]
    )
    assert cfg.trainer.max_epochs == 2 and cfg.task.max_length == 128  # the benchmark's budget
    assert "_r16_lr0.001_seed" in cfg.hydra.sweep.subdir  # one folder per setting: nothing overwritten
    coral = compose_config(
        ["experiment=tune_da_weights", "strategy=coral", "strategy.domain_loss_weight=3000.0"]
    )
    assert "_w3000.0_seed" in coral.hydra.sweep.subdir


def test_the_precision_check_pools_each_strategys_fp32_runs_with_its_bf16_benchmark_runs(
    tmp_path: Path,
) -> None:
    """`EXPERIMENT=precision_fp32 bash scripts/benchmark_cpu.sh collect`: fine_tune's fp32 runs (here: copies
    of its committed bf16 runs, relabelled 32-true) beside the benchmark's bf16 runs of the same cells, one
    table with both settings and a paired comparison; identical predictions give a difference of exactly 0."""
    import shutil
    import subprocess

    out = tmp_path / "precision_fp32"
    for pair in ("books-kitchen", "kitchen-dvd"):
        for seed in (1, 2, 3):
            name = f"fine_tune_minilm_sentiment_{pair}_seed{seed}"
            shutil.copytree(
                PROJECT_ROOT / "benchmarks/results/amazon_benchmark_cpu/runs" / name, out / "runs" / name
            )
            record = out / "runs" / name / "results.json"
            data = json.loads(record.read_text(encoding="utf-8"))
            data["config"]["resolved"]["trainer"]["precision"] = "32-true"
            record.write_text(json.dumps(data), encoding="utf-8")
    env = {**os.environ, "EXPERIMENT": "precision_fp32", "BENCHMARK_OUT": str(out), "OMP_NUM_THREADS": "1",
           "NLP_TRANSFER_LOGS": str(tmp_path / "logs"), "PYTHON": sys.executable}  # fmt: skip
    subprocess.run(["bash", "scripts/benchmark_cpu.sh", "collect"], cwd=PROJECT_ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    table = (out / "fine_tune" / "results_sentiment.md").read_text(encoding="utf-8")
    assert "| fine_tune [trainer.precision=32-true] |" in table
    assert "| fine_tune [trainer.precision=bf16-mixed] |" in table
    compare = (out / "fine_tune" / "compare.md").read_text(encoding="utf-8")
    title = "fine_tune [trainer.precision=32-true] − fine_tune [trainer.precision=bf16-mixed]"
    assert title in compare
    rows = [
        line for line in compare.splitlines() if line.startswith(("| books → kitchen", "| kitchen → dvd"))
    ]
    assert len(rows) == 2 and all("| +0.0000 | [+0.0000, +0.0000] |" in line for line in rows)
    assert not (out / "dann").exists()  # no fp32 dann runs yet: nothing written for it
