"""`nlp-transfer curves`: learning curves over seeds and plateau steps, on constructed runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy import stats

from nlp_transfer.cli import main
from nlp_transfer.results.learning_curves import collect_curves

STEPS = [10, 20, 30, 40]
SOURCE = {1: [0.70, 0.80, 0.85, 0.852], 2: [0.72, 0.82, 0.86, 0.858], 3: [0.68, 0.78, 0.84, 0.845]}


def write_run(
    root: Path, strategy: str, seed: int, source_val: list[float], status: str = "ok", lr: float | None = None
) -> None:
    points = [{"step": step, "epoch": 0, "source_val": score, "entropy": 0.1, "target/test/acc": score - 0.1}
              for step, score in zip(STEPS, source_val, strict=True)]  # fmt: skip
    record = {"status": status, "config": {"task": "sentiment", "backbone": "minilm", "strategy": strategy,
              "source": "books", "target": "dvd", "seed": seed},
              "selection": {"points": points, "target_metric": "target/test/acc"}}  # fmt: skip
    if lr is not None:  # a resolved config: the run's setting (results/setting.py)
        record["config"]["resolved"] = {"seed": seed, "strategy": {"optimizer": {"lr": lr}}}
    run = root / (f"{strategy}_{seed}" + (f"_lr{lr}" if lr is not None else ""))
    run.mkdir(parents=True)
    (run / "results.json").write_text(json.dumps(record), encoding="utf-8")


def test_curves_average_seeds_step_by_step_and_find_the_plateau(tmp_path: Path) -> None:
    for seed, scores in SOURCE.items():
        write_run(tmp_path, "fine_tune", seed, scores)
    write_run(tmp_path, "dann", 1, [0.5, 0.6, 0.7, 0.8], status="failed")  # failed runs draw no curve
    (curve,) = collect_curves(tmp_path)
    assert curve.key == ("sentiment", "minilm", "fine_tune", "books", "dvd") and curve.steps() == STEPS
    at_30 = [SOURCE[s][2] for s in (1, 2, 3)]
    interval = curve.at(30, 0)
    half = stats.t.ppf(0.975, 2) * stats.tstd(at_30) / 3**0.5
    assert interval.mean == pytest.approx(sum(at_30) / 3) and interval.half_width == pytest.approx(half)
    assert curve.at(30, 1).mean == pytest.approx(sum(at_30) / 3 - 0.1)
    # means: 0.70, 0.80, 0.85, 0.85167: step 30 is within half a point of the best, step 20 is not
    assert curve.plateau_step() == 30
    assert curve.plateau_step(tolerance=0.0) == 40


def test_two_learning_rates_draw_two_curves_not_one_whose_seed_is_overwritten(tmp_path: Path) -> None:
    write_run(tmp_path, "fine_tune", 1, SOURCE[1], lr=5e-5)
    write_run(tmp_path, "fine_tune", 1, SOURCE[2], lr=1e-3)
    high_lr, low_lr = collect_curves(tmp_path)  # sorted by name: "0.001" < "5e-05"
    assert [high_lr.key[2], low_lr.key[2]] == [
        "fine_tune [strategy.optimizer.lr=0.001]",
        "fine_tune [strategy.optimizer.lr=5e-05]",
    ]
    assert high_lr.at(40, 0).mean == pytest.approx(SOURCE[2][3])
    assert low_lr.at(40, 0).mean == pytest.approx(SOURCE[1][3])


def test_the_command_writes_table_csv_and_figure_and_refuses_a_sweep_without_points(tmp_path, capsys) -> None:
    for seed, scores in SOURCE.items():
        write_run(tmp_path / "sweep", "fine_tune", seed, scores)
    assert main(["curves", str(tmp_path / "sweep"), "--out", str(tmp_path / "out")]) == 0
    assert "| fine_tune | books → dvd | 3 | 40 | 30 |" in capsys.readouterr().out
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert written == {"curves.csv", "curves.md", "learning_curves.png"}
    (tmp_path / "empty").mkdir()
    assert main(["curves", str(tmp_path / "empty")]) == 2
