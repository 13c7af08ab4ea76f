"""`nlp-transfer compare <sweep dir> --baseline fine_tune`: each strategy against a baseline, paired.

Per pair and for the cross-domain average: the mean difference, a paired bootstrap interval over test
examples, a p-value, win/tie/loss counts, and Holm's correction over the pairs (results/compare.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "each strategy vs a baseline: paired bootstrap, Holm"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep_dir", type=Path, help="a sweep whose runs wrote prediction files")
    parser.add_argument("--baseline", default="fine_tune", help="the strategy to compare against")
    parser.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples")
    parser.add_argument("--out", type=Path, default=None, help="Markdown file (default: <sweep>/compare.md)")
    parser.add_argument(
        "--no-plots", action="store_true", help="skip the difference heatmaps (compare_<task>_<backbone>.png)"
    )


def run(args: argparse.Namespace) -> int:
    return run_compare(args.sweep_dir, args.baseline, args.resamples, args.out, plots=not args.no_plots)


def run_compare(sweep_dir: Path, baseline: str, resamples: int, out: Path | None, plots: bool = True) -> int:
    """`nlp-transfer compare`: print the comparison and write it, with one difference heatmap per task and
    backbone beside the Markdown file (exit 2 with the reason when refused)."""
    from nlp_transfer.results.compare import CompareError, compare_markdown, compare_sweep, write_comparison

    try:
        results = compare_sweep(sweep_dir, baseline, resamples=resamples)
    except (CompareError, FileNotFoundError) as err:
        print(f"nlp-transfer compare: {err}", file=sys.stderr)
        return 2
    print(compare_markdown(results, baseline))
    markdown, *figures = write_comparison(results, baseline, out or sweep_dir / "compare.md", plots)
    print(f"wrote markdown: {markdown}")
    for figure in figures:
        print(f"wrote figure: {figure}")
    return 0
