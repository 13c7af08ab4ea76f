"""`nlp-transfer results --against`: published rows beside ours, and drift against the committed runs."""

from __future__ import annotations

import csv
import math
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from scipy import stats

from nlp_transfer.cli import main
from nlp_transfer.config import PROJECT_ROOT
from nlp_transfer.results.collect import RunRow
from nlp_transfer.results.reference import ReferenceError, drift, load_reference, pooled_spread
from nlp_transfer.results.tables import CSV_FIELDS

REFERENCE = PROJECT_ROOT / "benchmarks" / "reference" / "sentiment_amazon.yaml"
COMMITTED_SWEEP = PROJECT_ROOT / "benchmarks" / "results" / "fine_tune_default_3seeds" / "runs"


def row(strategy: str, source: str, target: str, seed: int, score: float) -> RunRow:
    return RunRow(path=Path("x"), status="ok", task="sentiment", strategy=strategy, backbone="minilm",
                  source=source, target=target, seed=seed, domains=(), headline="acc",
                  metrics={"target/test/acc": score})  # fmt: skip


def test_the_tolerance_is_the_two_sample_t_bound_with_the_methods_pooled_seed_spread() -> None:
    committed = {
        ("dann", "minilm", "books", "dvd", ""): {1: 0.80, 2: 0.82, 3: 0.84},  # variance 4e-4, 2 df
        ("dann", "minilm", "dvd", "books", ""): {1: 0.70, 2: 0.70},  # variance 0, 1 df
    }
    sd, df = pooled_spread(committed)[("dann", "minilm", "")]
    assert df == 3 and sd == pytest.approx(math.sqrt((4e-4 * 2 + 0.0) / 3))
    tolerance = stats.t.ppf(0.975, 3) * sd * math.sqrt(1 / 1 + 1 / 3)  # one new seed vs 3 committed
    near, far = 0.82 + 0.9 * tolerance, 0.82 + 1.1 * tolerance
    (checked,) = drift([row("dann", "books", "dvd", 7, near)], committed)
    assert checked.tolerance == pytest.approx(tolerance) and not checked.drifted
    (checked,) = drift([row("dann", "books", "dvd", 7, far)], committed)
    assert checked.drifted
    # two equal committed seeds still get the method's spread, not a zero tolerance
    (checked,) = drift([row("dann", "dvd", "books", 7, 0.705)], committed)
    assert checked.tolerance == pytest.approx(stats.t.ppf(0.975, 3) * sd * math.sqrt(1 + 1 / 2))
    assert not checked.drifted


def test_cells_not_committed_are_not_judged_and_one_seed_methods_are_reported_only() -> None:
    committed = {("lora", "minilm", "books", "dvd", ""): {1: 0.6}}
    assert drift([row("dann", "books", "dvd", 1, 0.9)], committed) == []
    (checked,) = drift([row("lora", "books", "dvd", 2, 0.9)], committed)
    assert checked.tolerance is None and not checked.drifted


def test_cells_are_judged_only_against_committed_runs_of_their_setting() -> None:
    setting = {"task.max_length": "128"}
    mine = replace(row("dann", "books", "dvd", 7, 0.60), setting=setting)
    at_256 = {("dann", "minilm", "books", "dvd", "other0000000"): {1: 0.90, 2: 0.91, 3: 0.92}}
    (checked,) = drift([mine], at_256)
    assert checked.other_setting and not checked.drifted and "another setting" in checked.verdict
    same = {**at_256, ("dann", "minilm", "books", "dvd", mine.setting_id): {1: 0.60, 2: 0.61}}
    (checked,) = drift([mine], same)
    assert checked.verdict == "ok" and checked.committed_mean == pytest.approx(0.605)
    # the spread is the setting's own: 0.90–0.92 (another setting) does not widen it
    assert pooled_spread(same)[("dann", "minilm", mine.setting_id)][0] == pytest.approx(0.01 / math.sqrt(2))


def test_a_bad_reference_file_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ReferenceError, match="no such file"):
        load_reference(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("task: sentiment\npublished: [{method: x, paper: a: b}]\n", encoding="utf-8")
    with pytest.raises(ReferenceError, match="not valid YAML"):
        load_reference(broken)
    partial = tmp_path / "partial.yaml"
    partial.write_text("task: sentiment\nmetric: x\npublished: [{method: DANN}]\n", encoding="utf-8")
    with pytest.raises(ReferenceError, match="needs method, paper, backbone and average"):
        load_reference(partial)


def test_the_committed_benchmark_against_itself_prints_the_papers_and_flags_nothing(tmp_path, capsys) -> None:
    """A sweep holding one committed run unchanged: every one of its cells is within seed noise."""
    sweep = tmp_path / "sweep"
    shutil.copytree(COMMITTED_SWEEP / "0_fine_tune_minilm_sentiment_books-all", sweep / "run")
    assert main(["results", str(sweep), "--no-plots", "--against", str(REFERENCE)]) == 0
    out = capsys.readouterr().out
    assert "Ganin et al. 2016" in out and "Karouzos et al. 2021" in out and "not like-for-like" in out
    assert out.count("| ok |") == 4 and "DRIFTED" not in out  # books → each of the four domains


def test_a_moved_cell_is_flagged_and_the_command_fails(tmp_path, capsys) -> None:
    reference = tmp_path / "benchmarks" / "reference" / "r.yaml"
    reference.parent.mkdir(parents=True)
    committed = tmp_path / "runs.csv"
    with committed.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        cell = {"task": "sentiment", "strategy": "fine_tune", "backbone": "minilm", "source": "books",
                "target": "kitchen", "status": "ok"}  # fmt: skip
        for seed, score in ((1, 0.70), (2, 0.71), (3, 0.72)):  # the real run scored > 0.8 on this pair
            writer.writerow({**cell, "seed": seed, "target_score": score})
    reference.write_text(
        "task: sentiment\nmetric: target/test/acc\npublished: []\ncommitted: [runs.csv]\n", encoding="utf-8"
    )
    sweep = tmp_path / "sweep"
    shutil.copytree(COMMITTED_SWEEP / "0_fine_tune_minilm_sentiment_books-all", sweep / "run")
    assert main(["results", str(sweep), "--no-plots", "--against", str(reference)]) == 1
    assert "DRIFTED" in capsys.readouterr().out
