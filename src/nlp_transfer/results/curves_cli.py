"""`nlp-transfer curves <sweep dir>`: learning curves over seeds and each curve's plateau step.

For choosing budgets by evidence (conf/experiment/learning_curves.yaml): source validation and target test
against training steps, mean ± 95 % t-interval over seeds (results/learning_curves.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "learning curves (source validation, target test vs steps, over seeds) and plateau steps"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep_dir", type=Path, help="a sweep whose runs recorded selection.points")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: the sweep folder)")
    parser.add_argument("--no-plots", action="store_true", help="tables only")


def run(args: argparse.Namespace) -> int:
    from nlp_transfer.results.learning_curves import collect_curves, write_curves

    try:
        curves = collect_curves(args.sweep_dir)
    except FileNotFoundError as err:
        print(f"nlp-transfer curves: {err}", file=sys.stderr)
        return 2
    if not curves:
        print(f"nlp-transfer curves: no finished run under {args.sweep_dir} recorded validation points "
              "(train with selection=default)", file=sys.stderr)  # fmt: skip
        return 2
    written = write_curves(curves, args.out or args.sweep_dir, plots=not args.no_plots)
    print(written[1].read_text(encoding="utf-8"))
    for path in written:
        print(f"wrote: {path}")
    return 0
