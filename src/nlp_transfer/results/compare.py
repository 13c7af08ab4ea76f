"""`nlp-transfer compare <sweep> --baseline fine_tune`: is a strategy better than the baseline, and where?

For every strategy against the baseline, per cross-domain pair and for the average over pairs: the mean
difference of the target test score, a paired bootstrap interval over test examples (examples resampled
jointly for both strategies and all seeds; results/stats.py), a two-sided p-value, and win/tie/loss over
pairs. Differences that survive a Holm correction over one strategy's pairs are marked. It reads the runs'
per-example prediction files (results/predictions.py) and refuses runs that lack them or whose examples
differ. The score is accuracy for text classification and micro entity F1 for NER (ratios of sums over
examples, so they bootstrap exactly).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlp_transfer.results.collect import RunRow, collect_runs
from nlp_transfer.results.predictions import Predictions, prediction_path, read_predictions
from nlp_transfer.results.stats import Comparison, Scores, holm, paired_bootstrap, win_tie_loss

ALPHA = 0.05
Pair = tuple[str, str]


class CompareError(ValueError):
    """A sweep that cannot be compared as asked (no baseline, missing or mismatched prediction files)."""


@dataclass
class StrategyComparison:
    """One strategy against the baseline on one task and backbone."""

    task: str
    backbone: str
    strategy: str
    metric: str
    pairs: dict[Pair, Comparison]
    holm_p: dict[Pair, float]
    average: Comparison

    @property
    def win_tie_loss(self) -> tuple[int, int, int]:
        return win_tie_loss([c.difference for c in self.pairs.values()])


@dataclass
class DifferenceGrid:
    """Strategies × (pairs + the average) of one task and backbone, for the difference heatmap: the mean
    difference to the baseline (nan where a strategy did not run a pair) and whether it is significant
    (Holm-corrected p ≤ α over a strategy's pairs; the average's own bootstrap p)."""

    task: str
    backbone: str
    metric: str
    strategies: list[str]
    columns: list[str]
    difference: np.ndarray
    significant: np.ndarray


def difference_grids(results: list[StrategyComparison]) -> list[DifferenceGrid]:
    """One grid per (task, backbone) of `compare_sweep`'s results; columns: the pairs any strategy shares
    with the baseline (sorted), then "average" (over each strategy's own shared pairs)."""
    by_group: dict[tuple[str, str], list[StrategyComparison]] = defaultdict(list)
    for result in results:
        by_group[(result.task, result.backbone)].append(result)
    grids = []
    for (task, backbone), group in sorted(by_group.items()):
        pairs = sorted({pair for result in group for pair in result.pairs})
        difference = np.full((len(group), len(pairs) + 1), np.nan)
        significant = np.zeros(difference.shape, dtype=bool)
        for i, result in enumerate(group):
            for j, pair in enumerate(pairs):
                if pair in result.pairs:
                    difference[i, j] = result.pairs[pair].difference.mean
                    significant[i, j] = result.holm_p[pair] <= ALPHA
            difference[i, -1] = result.average.difference.mean
            significant[i, -1] = result.average.p_value <= ALPHA
        columns = [f"{source} → {target}" for source, target in pairs] + ["average"]
        grids.append(
            DifferenceGrid(
                task, backbone, group[0].metric, [r.strategy for r in group], columns, difference, significant
            )
        )
    return grids


def _load(row: RunRow) -> Predictions:
    path = prediction_path(row.evaluated_from or row.path, row.target)
    if not path.is_file():
        raise CompareError(
            f"{row.evaluated_from or row.path} has no prediction file {path.name} (runs write "
            f"predictions/<domain>_test.npz since per-example predictions exist): rerun it with `force=true`."
        )
    return read_predictions(path)


def _entity_counts(preds: Predictions) -> tuple[np.ndarray, np.ndarray]:
    """Per sentence: (2 · correct entities, predicted + gold entities), so Σ/Σ is micro entity F1."""
    from seqeval.metrics.sequence_labeling import get_entities

    names = preds.label_names
    twice_tp, total = [], []
    for gold, pred in zip(preds.sentences(preds.gold), preds.sentences(preds.pred), strict=True):
        gold_set = set(get_entities([names[i] for i in gold]))
        pred_set = set(get_entities([names[i] for i in pred]))
        twice_tp.append(2.0 * len(gold_set & pred_set))
        total.append(float(len(gold_set) + len(pred_set)))
    return np.array(twice_tp), np.array(total)


def _scores(runs: list[Predictions], metric: str = "acc") -> Scores:
    """Score parts of one strategy's runs on one test split, for the task's headline `metric`: entity F1
    (token level), macro_f1 (one part per class) or accuracy."""
    if runs[0].level == "token":
        parts = [_entity_counts(p) for p in runs]
        return Scores(np.stack([p[0] for p in parts]), np.stack([p[1] for p in parts]))
    gold, pred = np.stack([p.gold for p in runs]), np.stack([p.pred for p in runs])
    if metric == "macro_f1":
        return Scores.macro_f1(gold, pred, len(runs[0].label_names))
    return Scores.accuracy((pred == gold).astype(np.float64))


def _metric(rows: list[RunRow], preds: Predictions) -> str:
    """The name the comparison is made in: entity_f1 for token level, else the runs' headline metric
    (acc, macro_f1); a headline without a per-example decomposition falls back to accuracy, named so."""
    if preds.level == "token":
        return "entity_f1"
    return rows[0].headline if rows[0].headline in ("acc", "macro_f1") else "acc"


def _checked(rows: list[RunRow]) -> list[Predictions]:
    """The runs' predictions, all on the same examples of the same file (else a clear refusal)."""
    loaded = [_load(r) for r in rows]
    for row, preds in zip(rows, loaded, strict=True):
        if not preds.same_examples(loaded[0]):
            raise CompareError(
                f"{row.evaluated_from or row.path} tested other examples of {row.target} than "
                f"{rows[0].evaluated_from or rows[0].path} (data file checksum, example count or labels "
                f"differ): compare runs made on the same data and max_eval_examples."
            )
    return loaded


def _grouped(rows: list[RunRow]) -> dict[tuple[str, str, str], dict[Pair, list[RunRow]]]:
    """(task, backbone, strategy) → cross-domain pair → its successful runs (one per seed)."""
    grouped: dict[tuple[str, str, str], dict[Pair, list[RunRow]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.status == "ok" and row.source != row.target:
            grouped[(row.task, row.backbone, row.strategy)][(row.source, row.target)].append(row)
    return grouped


def compare_sweep(
    sweep_dir: str | Path, baseline: str, resamples: int = 10_000, seed: int = 0
) -> list[StrategyComparison]:
    """Every strategy of the sweep against `baseline`, on the pairs both ran."""
    grouped = _grouped(collect_runs(sweep_dir))
    strategies = sorted({key[2] for key in grouped})
    if baseline not in strategies:
        raise CompareError(
            f"Baseline {baseline!r} has no successful cross-domain run; found {strategies} (a strategy run "
            "in several settings is named with the keys that differ: pass one of those names as --baseline)"
        )
    results = []
    for (task, backbone, strategy), by_pair in sorted(grouped.items()):
        reference = grouped.get((task, backbone, baseline))
        if strategy == baseline or not reference:
            continue
        blocks, metric = {}, "acc"
        for pair in sorted(set(by_pair) & set(reference)):
            runs = _checked(reference[pair] + by_pair[pair])
            split = len(reference[pair])
            metric = _metric(reference[pair], runs[0])
            blocks[pair] = (_scores(runs[:split], metric), _scores(runs[split:], metric))
        if not blocks:
            continue
        pairs = {pair: paired_bootstrap([block], resamples, seed=seed) for pair, block in blocks.items()}
        adjusted = holm([c.p_value for c in pairs.values()])
        average = paired_bootstrap(list(blocks.values()), resamples, seed=seed)
        holm_p = dict(zip(pairs, adjusted, strict=True))
        results.append(StrategyComparison(task, backbone, strategy, metric, pairs, holm_p, average))
    return results


def _row(name: str, comparison: Comparison, holm_p: float | None, wtl: str = "") -> str:
    diff = comparison.difference
    marked = " ✓" if holm_p is not None and holm_p <= ALPHA else ""
    holm_text = f"{holm_p:.4f}" if holm_p is not None else ""
    return (
        f"| {name} | {diff.mean:+.4f}{marked} | [{diff.low:+.4f}, {diff.high:+.4f}] | "
        f"{comparison.p_value:.4f} | {holm_text} | {wtl} |"
    )


def compare_markdown(results: list[StrategyComparison], baseline: str) -> str:
    """One table per (task, backbone, strategy): its pairs, then the cross-domain average with W/T/L."""
    lines = []
    for result in results:
        title = f"{result.task} ({result.backbone}): {result.strategy} − {baseline}"
        lines += [
            f"### {title}, target/test {result.metric}",
            "",
            "| pair | Δ mean | 95 % bootstrap CI | p | p (Holm) | win/tie/loss |",
            "|---|---|---|---|---|---|",
        ]
        for (source, target), comparison in result.pairs.items():
            lines.append(_row(f"{source} → {target}", comparison, result.holm_p[(source, target)]))
        wins, ties, losses = result.win_tie_loss
        lines += [_row("**average**", result.average, None, f"{wins}/{ties}/{losses}"), ""]
    lines.append(
        "Δ: the strategy's score minus the baseline's, averaged over seeds; CI and p from a paired bootstrap "
        "over test examples (the same resampled examples for both strategies and all seeds). ✓: significant "
        f"at α = {ALPHA} after a Holm correction over the strategy's pairs. A tie is a CI containing 0."
    )
    return "\n".join(lines) + "\n"


def write_comparison(
    results: list[StrategyComparison], baseline: str, out: Path, plots: bool = True
) -> list[Path]:
    """The Markdown table at `out` and, with `plots`, one difference heatmap per (task, backbone) beside it
    (`compare_<task>_<backbone>.png`); returns the paths written."""
    out.write_text(compare_markdown(results, baseline), encoding="utf-8")
    written = [out]
    if plots:
        from nlp_transfer.results.plots import difference_heatmap

        written += [difference_heatmap(grid, baseline, out.parent) for grid in difference_grids(results)]
    return written
