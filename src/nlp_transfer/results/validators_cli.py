"""`nlp-transfer validators <sweep dir> […]`: how well each label-free validator tracks target accuracy.

Over every validation point of every run: each validator's weighted Spearman correlation with the
target metric (Musgrave et al. 2022) and its selection regret (results/validator_meta.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "each label-free validator vs target accuracy: weighted Spearman and regret"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sweep_dir", type=Path, nargs="+", help="sweeps whose runs recorded selection.points (pooled)"
    )
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: the first sweep)")
    parser.add_argument("--power", type=float, default=2.0, help="exponent of the top-emphasis weights")
    parser.add_argument("--no-plots", action="store_true", help="tables only")


def run(args: argparse.Namespace) -> int:
    """Print the validator table and write it (exit 2 when there is nothing to evaluate)."""
    from nlp_transfer.results.validator_report import build_validator_report

    try:
        written, skipped = build_validator_report(
            args.sweep_dir, args.out, power=args.power, plots=not args.no_plots
        )
    except FileNotFoundError as err:
        print(f"nlp-transfer validators: {err}", file=sys.stderr)
        return 2
    print(written["markdown"][0].read_text(encoding="utf-8"))
    if skipped:
        print(f"{len(skipped)} run(s) without validation points, left out:")
        for path, why in skipped:
            print(f"  {path}: {why}")
    for kind, paths in written.items():
        for path in paths:
            print(f"wrote {kind}: {path}")
    return 0
