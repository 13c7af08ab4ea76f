"""Meta-evaluation of validators: the weighted Spearman against scipy and numpy, the regret rule, and the
report on a constructed sweep (one perfect validator, one reversed) and on a real tiny sweep of two runs."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from nlp_transfer.cli import main
from nlp_transfer.results.validator_meta import (
    oriented,
    pick,
    selection_regret,
    spearman,
    top_weights,
    weighted_spearman,
)
from nlp_transfer.results.validator_report import CSV_NAME, MARKDOWN_NAME, build_validator_report


def test_uniform_weights_give_scipys_spearman_ties_included() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = rng.integers(0, 6, size=15).astype(float)  # many ties
        targets = rng.normal(size=15).round(1)
        expected = spearmanr(scores, targets).statistic
        assert spearman(scores, targets) == pytest.approx(expected, abs=1e-12)
        assert weighted_spearman(scores, targets, weights=np.ones(15)) == pytest.approx(expected, abs=1e-12)


def test_weighted_spearman_matches_numpys_weighted_covariance_on_a_hand_case() -> None:
    scores, targets = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 0.9, 0.7, 0.6])
    # dense ranks / max: scores (1/4, 2/4, 3/4, 1), targets (1/4, 1, 3/4, 2/4); w = max² = (1/16, 1, 9/16, 1)
    weights = top_weights(scores, targets)
    assert weights.tolist() == pytest.approx([1 / 16, 1.0, 9 / 16, 1.0])
    cov = np.cov(np.array([1, 2, 3, 4]), np.array([1, 4, 3, 2]), aweights=weights)
    expected = cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1])
    assert weighted_spearman(scores, targets) == pytest.approx(expected)
    assert weighted_spearman(scores, targets) != pytest.approx(spearman(scores, targets))


def test_a_perfect_order_gives_one_and_a_reversed_order_minus_one_whatever_the_weights() -> None:
    targets = np.array([0.61, 0.75, 0.52, 0.88, 0.70])
    assert weighted_spearman(3 * targets + 1, targets) == pytest.approx(1.0)
    assert weighted_spearman(-targets, targets) == pytest.approx(-1.0)
    assert weighted_spearman(-targets, targets, power=5.0) == pytest.approx(-1.0)
    assert math.isnan(weighted_spearman([1.0], [0.5])) and math.isnan(
        weighted_spearman([1.0, 1.0], [0.2, 0.3])
    )


def test_regret_picks_the_best_score_earliest_of_ties_and_never_an_undefined_one() -> None:
    targets = [0.70, 0.80, 0.90, 0.60]
    assert pick([0.1, 0.5, 0.5, 0.2]) == 1
    assert selection_regret([0.1, 0.5, 0.5, 0.2], targets) == pytest.approx(0.10)
    assert selection_regret(
        oriented([None, 0.3, 0.1, None], higher_is_better=False), targets
    ) == pytest.approx(0.0)
    assert math.isnan(selection_regret([math.nan] * 4, targets))
    # an undefined score counts as the worst defined one in the correlation
    assert weighted_spearman([math.nan, 1.0, 2.0, 0.5], targets) == weighted_spearman(
        [0.5, 1.0, 2.0, 0.5], targets
    )


TARGETS = {"lr_a": [0.60, 0.70, 0.80, 0.75], "lr_b": [0.50, 0.65, 0.90, 0.85]}


def write_run(
    folder: Path, name: str, targets: list[float], fingerprint: str | None = None, wall: float | None = None
) -> None:
    """A results.json whose validation points hold a perfect validator, a reversed one and a `min` one."""
    points = [
        {
            "step": 10 * (i + 1),
            "epoch": i,
            "perfect": t,
            "reversed": -t,
            "loss_like": 1 - t,
            "target/test/acc": t,
        }
        for i, t in enumerate(targets)
    ]
    record = {
        "schema_version": 2,
        "status": "ok",
        "config": {
            "task": "sentiment", "strategy": "dann", "backbone": "tiny", "source": "books", "target": "dvd",
        },
        "metrics": {"target/test/acc": targets[-1]},
        "selection": {
            "checkpoint_metric": "source/val/acc", "checkpoint": None, "objective": "source/val/acc",
            "target_metric": "target/test/acc", "points": points,
            "directions": {"perfect": "max", "reversed": "max", "loss_like": "min"},
        },
    }  # fmt: skip
    if fingerprint is not None:
        record["fingerprint"] = fingerprint
    if wall is not None:
        record["cost"] = {"wall_seconds": wall}
    (folder / name).mkdir(parents=True)
    (folder / name / "results.json").write_text(json.dumps(record))


def test_the_report_on_a_constructed_sweep_gives_the_hand_computed_numbers(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    for (name, targets), wall in zip(TARGETS.items(), (3000.0, 4260.0), strict=True):
        write_run(sweep, name, targets, wall=wall)
    (sweep / "no_points").mkdir()
    (sweep / "no_points" / "results.json").write_text(json.dumps({"status": "running"}))
    written, skipped = build_validator_report(sweep)
    assert [path.name for path in written["csv"]] == [CSV_NAME] and written["figures"][0].is_file()
    assert [path.name for path, _ in skipped] == ["no_points"]
    with (sweep / CSV_NAME).open() as handle:
        rows = {(r["scope"], Path(r["run"]).name, r["validator"]): r for r in csv.DictReader(handle)}
    for validator in ("perfect", "loss_like"):  # `min` scores are oriented before ranking
        pair = rows[("pair", "", validator)]
        assert float(pair["weighted_spearman"]) == pytest.approx(1.0) and float(pair["regret"]) == 0.0
        assert int(pair["points"]) == 8 and float(pair["oracle"]) == 0.90
    pair = rows[("pair", "", "reversed")]
    assert float(pair["weighted_spearman"]) == pytest.approx(-1.0)
    assert float(pair["spearman"]) == pytest.approx(
        spearmanr(
            [-t for v in TARGETS.values() for t in v], [t for v in TARGETS.values() for t in v]
        ).statistic
    )
    assert float(pair["regret"]) == pytest.approx(
        0.90 - 0.50
    )  # the worst point of the pair: the maximum regret
    for name, targets in TARGETS.items():
        run = rows[("run", name, "reversed")]
        assert float(run["weighted_spearman"]) == pytest.approx(-1.0)
        assert float(run["regret"]) == pytest.approx(max(targets) - min(targets))
        assert float(rows[("run", name, "perfect")]["regret"]) == 0.0
    table = (sweep / MARKDOWN_NAME).read_text()
    assert "| perfect | max | +1.000 |" in table and "| reversed | max | -1.000 |" in table
    assert table.index("| perfect |") < table.index("| reversed |")  # sorted by ρ_w
    assert "Training time: 2 h 01 min, the sum of `cost.wall_seconds` over 2 of 2 runs" in table  # 7260 s


def test_two_sweeps_are_pooled_and_a_run_met_in_both_counts_once(tmp_path: Path) -> None:
    """The benchmark's committed runs pooled with a variety sweep that restored some of them."""
    (first, second), (a, b) = (tmp_path / "benchmark", tmp_path / "variety"), list(TARGETS.values())[:2]
    write_run(first, "shared", a, fingerprint="f1")
    write_run(second, "shared", a, fingerprint="f1")  # the same run, copied
    write_run(second, "other", b, fingerprint="f2")
    written, skipped = build_validator_report([first, second], out_dir=tmp_path / "pooled")
    assert [(path.parent.name, why) for path, why in skipped] == [
        ("variety", f"the same run as {first / 'shared'}")
    ]
    with written["csv"][0].open() as handle:
        pair = next(r for r in csv.DictReader(handle) if r["scope"] == "pair" and r["validator"] == "perfect")
    assert int(pair["points"]) == len(a) + len(b)


def test_the_command_without_any_points_exits_2_naming_the_fix(tmp_path: Path, capsys) -> None:
    (tmp_path / "run").mkdir()
    assert main(["validators", str(tmp_path)]) == 2
    assert "selection=default" in capsys.readouterr().err


@pytest.mark.slow
def test_a_tiny_sweep_of_two_runs_end_to_end(run_training, tmp_path: Path, capsys) -> None:
    sweep = tmp_path / "sweep"
    for strategy in ("fine_tune", "self_training"):
        run_training(f"strategy={strategy}", "trainer.max_epochs=2", output_dir=sweep / strategy)
    assert main(["validators", str(sweep), "--out", str(tmp_path / "report")]) == 0
    printed = capsys.readouterr().out
    with (tmp_path / "report" / CSV_NAME).open() as handle:
        rows = list(csv.DictReader(handle))
    validators = {r["validator"] for r in rows}
    assert {"source_val", "entropy"} <= validators  # whatever the default selection config lists
    records = [json.loads((sweep / s / "results.json").read_text()) for s in ("fine_tune", "self_training")]
    expected = {name for record in records for name in record["selection"]["directions"]}
    assert validators == expected
    for validator in validators:
        pair = next(r for r in rows if r["scope"] == "pair" and r["validator"] == validator)
        assert int(pair["points"]) == 4  # 2 runs × 2 epochs
        points = [p for record in records for p in record["selection"]["points"]]
        targets = [p["target/test/acc"] for p in points]
        assert float(pair["oracle"]) == pytest.approx(max(targets))
        assert 0.0 <= float(pair["regret"]) <= max(targets) - min(targets) + 1e-12
    assert (
        "validators against target/test/acc" in printed
        and (tmp_path / "report" / "validators_sentiment.png").is_file()
    )
