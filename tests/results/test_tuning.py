"""Defaults chosen on source validation (results/tuning.py, `nlp-transfer tune`)."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest

from nlp_transfer.cli import main as cli
from nlp_transfer.results.collect import RunRow
from nlp_transfer.results.tuning import tune, tuning_markdown

PAIRS = [("books", "dvd"), ("electronics", "kitchen")]


def row(weight: float, pair: tuple[str, str], seed: int, val: float, target: float, **extra: str) -> RunRow:
    setting = {"strategy.domain_loss_weight": str(weight), "strategy.name": '"dann"', **extra}
    return RunRow(path=Path(f"{weight}-{pair}-{seed}"), status="ok", task="sentiment", strategy="dann",
                  backbone="minilm", source=pair[0], target=pair[1], seed=seed, domains=(), headline="acc",
                  metrics={"source/val/acc": val, "target/test/acc": target}, setting=setting)  # fmt: skip


def defaults(strategy: str, keys: list[str]) -> dict[str, str]:
    assert strategy == "dann"
    return {"strategy.domain_loss_weight": "1.0"}


def grid(scores: dict[float, tuple[float, float]], target: float = 0.8) -> list[RunRow]:
    """weight → (source val on books → dvd, on electronics → kitchen), seeds 1 and 2 ±0.01 around it."""
    return [row(w, pair, seed, vals[i] + (0.01 if seed == 1 else -0.01), target)
            for w, vals in scores.items() for i, pair in enumerate(PAIRS) for seed in (1, 2)]  # fmt: skip


def test_a_setting_better_by_the_margin_replaces_the_default_on_the_mean_over_seeds_then_cells() -> None:
    (tuning,) = tune(grid({0.3: (0.90, 0.86), 1.0: (0.88, 0.86), 3.0: (0.80, 0.84)}), defaults)
    assert tuning.keys == ["strategy.domain_loss_weight"]
    assert tuning.cells == ["books → dvd", "electronics → kitchen"]
    assert [s.label for s in tuning.settings] == [f"strategy.domain_loss_weight={w}" for w in (0.3, 1.0, 3.0)]
    best, default = tuning.settings[0], tuning.settings[1]
    assert best.mean_source_val(tuning.cells) == pytest.approx(0.88)  # (0.90 + 0.86) / 2, seeds averaged
    assert default.is_default and not best.is_default and best.seeds == 2
    assert tuning.chosen is best and "+0.0100" in tuning.reason and "replaces it" in tuning.reason


def test_a_gain_below_the_margin_keeps_the_default() -> None:
    (tuning,) = tune(grid({0.3: (0.89, 0.86), 1.0: (0.88, 0.86)}), defaults)
    assert tuning.settings[0].label == "strategy.domain_loss_weight=0.3"  # ranked first ...
    assert tuning.chosen is tuning.settings[1] and tuning.chosen.is_default  # ... but +0.005 < 0.01
    assert "the default is kept" in tuning.reason
    (looser,) = tune(grid({0.3: (0.89, 0.86), 1.0: (0.88, 0.86)}), defaults, margin=0.005)
    assert looser.chosen is looser.settings[0]


def test_target_test_never_chooses_and_a_setting_missing_a_cell_cannot_be_chosen() -> None:
    rows = grid({1.0: (0.88, 0.86)}, target=0.70) + grid({3.0: (0.87, 0.86)}, target=0.95)
    rows += [row(0.1, PAIRS[0], 1, 0.99, 0.99)]  # best source val, but only one of the two cells
    (tuning,) = tune(rows, defaults)
    assert tuning.chosen.label == "strategy.domain_loss_weight=1.0"  # not 3.0 (best target), not 0.1
    assert tuning.settings[-1].label == "strategy.domain_loss_weight=0.1"  # incomplete: ranked last
    assert "—" in tuning_markdown([tuning]).splitlines()[-3]  # its missing cell is shown as such


def test_one_setting_is_nothing_to_tune_and_failed_runs_are_left_out() -> None:
    rows = grid({1.0: (0.88, 0.86)})
    assert tune(rows, defaults) == []
    failed = RunRow(path=Path("f"), status="failed", task="sentiment", strategy="dann", backbone="minilm",
                    source="books", target="dvd", seed=1, domains=(), headline="acc",
                    setting={"strategy.domain_loss_weight": "9.0"})  # fmt: skip
    assert tune([*rows, failed], defaults) == []


@pytest.mark.slow
def test_the_command_on_a_real_tiny_sweep_of_two_weights_marks_the_current_default(
    run_training, tmp_path: Path, capsys
) -> None:
    for weight in ("0.5", "1.0"):  # dann's default is 1.0
        overrides = [
            "strategy=dann",
            f"strategy.domain_loss_weight={weight}",
            "trainer.limit_train_batches=2",
        ]
        record = run_training(*overrides, output_dir=tmp_path / "sweep" / f"w{weight}")
        assert record["status"] == "ok"
    assert cli(["tune", str(tmp_path / "sweep"), "--out", str(tmp_path / "out")]) == 0
    markdown = (tmp_path / "out" / "tuning.md").read_text()
    assert "## dann (sentiment, tiny): strategy.domain_loss_weight" in markdown
    assert "strategy.domain_loss_weight=1.0 (default)" in markdown
    with (tmp_path / "out" / "tuning.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert {r["setting"] for r in table} == {
        "strategy.domain_loss_weight=0.5",
        "strategy.domain_loss_weight=1.0",
    }
    assert sum(r["chosen"] == "True" for r in table) == 1 and all(r["source_val"] for r in table)
    assert "tuning.md" in capsys.readouterr().out
    assert cli(["tune", str(tmp_path / "sweep" / "w0.5")]) == 2  # one setting: nothing to choose


def test_an_all_domains_runs_target_record_is_the_mean_over_its_cross_domain_splits() -> None:
    """A run tested on every domain gives one row per domain: one cell (`books → all`), its source val once,
    and the target record averaged over the other domains (its in-domain test split left out)."""
    rows = []
    for weight, val in ((1.0, 0.88), (3.0, 0.86)):
        for target, acc in (("books", 0.95), ("dvd", 0.80), ("kitchen", 0.70)):
            run = row(weight, ("books", target), 1, val, acc)
            rows.append(dataclasses.replace(run, evaluated_from=Path(f"run-{weight}")))
    (tuning,) = tune(rows, defaults)
    assert tuning.cells == ["books → all"]
    assert tuning.settings[0].target == {"books → all": pytest.approx(0.75)}  # (0.80 + 0.70) / 2, not 0.95
    assert tuning.settings[0].source_val == {"books → all": pytest.approx(0.88)}
