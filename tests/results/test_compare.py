"""`nlp-transfer compare` on real tiny runs: 2 strategies × 2 seeds, each tested on every domain."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from nlp_transfer.cli import main
from nlp_transfer.results.compare import CompareError, compare_sweep
from nlp_transfer.results.predictions import prediction_path, read_predictions, write_predictions

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


def test_compare_pairs_average_and_refusals(sweep, capsys) -> None:
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
