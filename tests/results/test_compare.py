"""`nlp-transfer compare` on real tiny runs: 2 strategies × 2 seeds, each tested on every domain."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from nlp_transfer.callbacks.sweep_report import WriteSweepReport
from nlp_transfer.cli import main
from nlp_transfer.results.compare import (
    CompareError,
    StrategyComparison,
    compare_sweep,
    difference_grids,
    write_comparison,
)
from nlp_transfer.results.predictions import prediction_path, read_predictions, write_predictions
from nlp_transfer.results.stats import Comparison, Interval

STRATEGIES = ("fine_tune", "feature_extraction")
SEEDS = (1, 2)


@pytest.fixture
def sweep(run_training, tmp_path: Path) -> tuple[Path, dict]:
    """Four runs in one folder; returns it and {(strategy, seed): results record}."""
    records = {}
    for strategy in STRATEGIES:
        for seed in SEEDS:
            records[(strategy, seed)] = run_training(
                f"strategy={strategy}", f"seed={seed}", "evaluate_on=all_domains", "domain.source=books",
                output_dir=tmp_path / "sweep" / f"{strategy}_{seed}",
            )  # fmt: skip
    return tmp_path / "sweep", records


def test_compare_pairs_average_report_and_refusals(sweep, capsys) -> None:
    sweep_dir, records = sweep
    [result] = compare_sweep(sweep_dir, "fine_tune", resamples=500)
    assert (result.task, result.strategy, result.metric) == ("sentiment", "feature_extraction", "acc")
    targets = ["dvd", "electronics", "kitchen"]
    assert list(result.pairs) == [("books", t) for t in targets]
    for target in targets:  # Δ = the seed-averaged difference of the accuracies the runs recorded
        acc = {k: r["metrics"][f"domains/{target}/test/acc"] for k, r in records.items()}
        expected = np.mean([acc[("feature_extraction", s)] - acc[("fine_tune", s)] for s in SEEDS])
        comparison = result.pairs[("books", target)]
        assert comparison.difference.mean == pytest.approx(expected, abs=1e-9)
        assert comparison.difference.low <= comparison.difference.mean <= comparison.difference.high
        assert 0 < comparison.p_value <= 1
        assert result.holm_p[("books", target)] >= comparison.p_value
    average = np.mean([c.difference.mean for c in result.pairs.values()])
    assert result.average.difference.mean == pytest.approx(average)
    assert sum(result.win_tie_loss) == 3

    assert main(["compare", str(sweep_dir), "--baseline", "fine_tune", "--resamples", "200"]) == 0
    table = (sweep_dir / "compare.md").read_text()
    assert "feature_extraction − fine_tune" in table
    assert all(f"| books → {t} |" in table for t in targets) and "| **average** |" in table
    [figure] = sweep_dir.glob("compare_sentiment_*.png")  # the difference heatmap beside the table
    assert plt_image_shape(figure)[0] > 100

    # the sweep's end-of-run report writes the same comparison (and nothing when the baseline is absent)
    figure.unlink(), (sweep_dir / "compare.md").unlink()
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep_dir)}}})
    WriteSweepReport().on_multirun_end(config)

    def differences(text: str) -> list[list[str]]:  # pair and Δ mean: the same at any resample count
        return [line.split("|")[1:3] for line in text.splitlines() if line.startswith("| ")]

    assert differences((sweep_dir / "compare.md").read_text()) == differences(table)
    assert len(list(sweep_dir.glob("compare_sentiment_*.png"))) == 1
    (sweep_dir / "compare.md").unlink()
    WriteSweepReport(plots=False, compare_baseline="dann").on_multirun_end(config)
    assert not (sweep_dir / "compare.md").exists() and (sweep_dir / "results_sentiment.md").is_file()

    assert main(["compare", str(sweep_dir), "--baseline", "dann"]) == 2
    assert "Baseline 'dann' has no successful cross-domain run" in capsys.readouterr().err

    # a run tested on fewer examples (another max_eval_examples) no longer lines up: refused
    path = prediction_path(sweep_dir / "feature_extraction_2", "kitchen")
    preds = read_predictions(path)
    keep = slice(0, len(preds.index) - 1)
    shorter = dataclasses.replace(
        preds, index=preds.index[keep], gold=preds.gold[keep], pred=preds.pred[keep], probs=preds.probs[keep]
    )
    write_predictions(path, shorter)
    with pytest.raises(CompareError, match="tested other examples of kitchen"):
        compare_sweep(sweep_dir, "fine_tune", resamples=50)

    path.unlink()  # a run without its prediction file: refused, naming the fix
    assert main(["compare", str(sweep_dir), "--baseline", "fine_tune"]) == 2
    assert "has no prediction file kitchen_test.npz" in capsys.readouterr().err


def plt_image_shape(path: Path) -> tuple[int, ...]:
    """(height, width, channels) of a written PNG, read back."""
    import matplotlib.image

    return matplotlib.image.imread(path).shape


def _comparison(mean: float, p_value: float) -> Comparison:
    return Comparison(Interval(mean, mean - 0.01, mean + 0.01, 3), p_value)


def test_difference_grid_holds_each_strategys_pairs_average_and_holm_significance(tmp_path: Path) -> None:
    """Rows = strategies, columns = the pairs any strategy shares with the baseline + the average; a pair
    a strategy did not run is nan; significance is Holm's p ≤ 0.05 for pairs and the average's own p."""
    ab, ba, bc = ("a", "b"), ("b", "a"), ("b", "c")
    dann = StrategyComparison(
        "sentiment", "tiny", "dann", "acc",
        pairs={ab: _comparison(0.02, 0.01), ba: _comparison(-0.01, 0.30)},
        holm_p={ab: 0.02, ba: 0.30},
        average=_comparison(0.005, 0.04),
    )  # fmt: skip
    mcc = StrategyComparison(
        "sentiment", "tiny", "mcc", "acc",
        pairs={ab: _comparison(0.03, 0.02), bc: _comparison(0.04, 0.001)},
        holm_p={ab: 0.06, bc: 0.002},  # Holm lifts a.b's 0.02 above α: not significant
        average=_comparison(0.035, 0.20),
    )  # fmt: skip
    ner = dataclasses.replace(dann, task="ner", metric="entity_f1")
    ner_grid, grid = difference_grids([dann, mcc, ner])  # one grid per (task, backbone), sorted
    assert (grid.task, ner_grid.task, ner_grid.metric) == ("sentiment", "ner", "entity_f1")
    assert grid.strategies == ["dann", "mcc"]
    assert grid.columns == ["a → b", "b → a", "b → c", "average"]
    expected = np.array([[0.02, -0.01, np.nan, 0.005], [0.03, np.nan, 0.04, 0.035]])
    np.testing.assert_allclose(grid.difference, expected)
    assert grid.significant.tolist() == [[True, False, False, True], [False, False, True, False]]

    markdown, figure = write_comparison([dann, mcc], "fine_tune", tmp_path / "compare.md")
    assert "dann − fine_tune" in markdown.read_text() and figure.name == "compare_sentiment_tiny.png"
    assert plt_image_shape(figure)[0] > 100


def test_ner_score_parts_give_seqeval_micro_f1() -> None:
    """Σ 2·TP / Σ (predicted + gold) over sentences is seqeval's micro entity F1 (conlleval mode)."""
    from seqeval.metrics import f1_score

    from nlp_transfer.results.compare import _scores
    from nlp_transfer.results.predictions import Predictions

    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    gold = [[1, 2, 0, 3], [0, 0, 3, 4], [1, 0, 0]]
    pred = [[1, 2, 0, 0], [0, 2, 3, 4], [3, 0, 1]]
    flat = [np.array([t for s in tags for t in s]) for tags in (gold, pred)]
    preds = Predictions(
        task="ner", domain="music", split="test", checksum="x", level="token", label_names=names,
        file_examples=3, index=np.arange(3), gold=flat[0], pred=flat[1], word_counts=np.array([4, 4, 3]),
    )  # fmt: skip
    scores = _scores([preds])
    expected = f1_score([[names[i] for i in s] for s in gold], [[names[i] for i in s] for s in pred])
    assert scores.value() == pytest.approx(expected)
    assert scores.numerator.shape == (1, 3, 1)  # one part: micro F1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("task", "metric", "recorded"), [("emotion", "macro_f1", "macro_f1"), ("ner", "entity_f1", "f1")]
)
def test_three_seeds_of_two_strategies_compare_in_the_tasks_own_metric(
    run_training, tmp_path: Path, task: str, metric: str, recorded: str
) -> None:
    """Emotion in macro-F1 (one bootstrap part per class), NER in entity F1 (resampling sentences): the
    observed difference is the seed-averaged difference of the metrics the runs themselves recorded."""
    records = {}
    for strategy in ("fine_tune", "dann"):
        for seed in (1, 2, 3):
            records[(strategy, seed)] = run_training(
                f"task={task}", f"strategy={strategy}", f"seed={seed}", "selection=none",
                output_dir=tmp_path / "sweep" / f"{strategy}_{seed}",
            )  # fmt: skip
    [result] = compare_sweep(tmp_path / "sweep", "fine_tune", resamples=300)
    assert (result.task, result.strategy, result.metric) == (task, "dann", metric)
    (pair,) = result.pairs
    score = {k: r["metrics"][f"target/test/{recorded}"] for k, r in records.items()}
    expected = np.mean([score[("dann", s)] - score[("fine_tune", s)] for s in (1, 2, 3)])
    comparison = result.pairs[pair]
    assert comparison.difference.mean == pytest.approx(expected, abs=1e-6)
    assert comparison.difference.low <= comparison.difference.mean <= comparison.difference.high
