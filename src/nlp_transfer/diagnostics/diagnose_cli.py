"""`nlp-transfer diagnose task=… backbone=a,b [overrides] [--against <sweep>]`: before training, which
backbone and which source will transfer (diagnostics/report.py): transferability scores and domain-shift
measures per (backbone, source, target) from cached frozen features, no training.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXTRA_ARGUMENTS = "overrides"  # key=value pairs may also follow the options
HELP = "transferability scores and domain shift per (backbone, source, target), no training"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("overrides", nargs="*", help="task=<task> backbone=<a,b,...> and any Hydra overrides")
    parser.add_argument("--out", type=Path, default=None, help="default: <paths.log_dir>/diagnostics/<task>")
    parser.add_argument("--cap", type=int, default=None, help="examples per train split (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="subsampling and classifier seed")
    parser.add_argument("--against", type=Path, default=None, help="a sweep folder: Kendall τ vs accuracy")
    parser.add_argument("--strategy", default="fine_tune", help="the sweep's strategy to correlate with")
    parser.add_argument("--no-plots", action="store_true", help="tables only")


def split_diagnose_overrides(overrides: list[str]) -> tuple[str, list[str], list[str]]:
    """(task, backbones, the other overrides); raises ValueError naming the missing `task=`."""
    task = next((o.split("=", 1)[1] for o in overrides if o.startswith("task=")), None)
    if not task:
        raise ValueError("name the task: `nlp-transfer diagnose task=sentiment backbone=minilm,mpnet,tiny`")
    listed = next((o.split("=", 1)[1] for o in overrides if o.startswith("backbone=")), "minilm")
    rest = [o for o in overrides if not o.startswith(("task=", "backbone="))]
    return task, [b for b in listed.split(",") if b], rest


def run(args: argparse.Namespace) -> int:
    """Compute (or read from the feature cache), print and write the diagnose table; exit 2 on bad input."""
    import time

    from nlp_transfer.diagnostics.encoding import DEFAULT_CAP
    from nlp_transfer.diagnostics.report import diagnose_rows, write_against, write_report

    start = time.perf_counter()
    try:
        task, backbones, overrides = split_diagnose_overrides(args.overrides)
        rows, cfg = diagnose_rows(task, backbones, overrides, args.cap or DEFAULT_CAP, args.seed)
        out = args.out or Path(cfg.paths.log_dir) / "diagnostics" / task
        written = write_report(rows, task, out, plots=not args.no_plots)
        if args.against is not None:
            written += write_against(rows, args.against, args.strategy, task, out)
    except (ValueError, FileNotFoundError) as err:
        print(f"nlp-transfer diagnose: {err}", file=sys.stderr)
        return 2
    for path in written:
        if path.suffix == ".md":
            print(path.read_text(encoding="utf-8"))
    for path in written:
        print(f"wrote: {path}")
    print(f"diagnose took {time.perf_counter() - start:.1f} s")
    return 0
