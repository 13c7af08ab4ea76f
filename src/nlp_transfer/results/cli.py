"""`nlp-transfer results <sweep dir>`: a sweep's runs as CSV, Markdown tables and figures.

Fast on purpose: no torch or Lightning is imported here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nlp_transfer.results.collect import collect_runs
from nlp_transfer.results.tables import markdown_table, write_csv


def build_report(sweep_dir: Path, out_dir: Path | None = None, plots: bool = True) -> dict[str, list[Path]]:
    """Write runs.csv, results_<task>.md and the figures; returns the files written per kind."""
    rows = collect_runs(sweep_dir)
    if not rows:
        raise FileNotFoundError(f"No results.json under {sweep_dir}: is it a run or sweep folder?")
    out_dir = out_dir or sweep_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {
        "csv": [write_csv(rows, out_dir / "runs.csv")],
        "markdown": [],
        "figures": [],
    }
    for task in sorted({r.task for r in rows}):
        path = out_dir / f"results_{task}.md"
        path.write_text(markdown_table(rows, task), encoding="utf-8")
        written["markdown"].append(path)
        if plots:
            from nlp_transfer.results.plots import heatmaps, strategy_bars

            written["figures"] += heatmaps(rows, task, out_dir) + [strategy_bars(rows, task, out_dir)]
    return written


def run_compare(sweep_dir: Path, baseline: str, resamples: int, out: Path | None) -> int:
    """`nlp-transfer compare`: print the comparison and write it (exit 2 with the reason when refused)."""
    from nlp_transfer.results.compare import CompareError, compare_markdown, compare_sweep

    try:
        results = compare_sweep(sweep_dir, baseline, resamples=resamples)
    except (CompareError, FileNotFoundError) as err:
        print(f"nlp-transfer compare: {err}", file=sys.stderr)
        return 2
    text = compare_markdown(results, baseline)
    out = out or sweep_dir / "compare.md"
    out.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote markdown: {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nlp-transfer", description="nlp-transfer tools")
    commands = parser.add_subparsers(dest="command", required=True)
    results = commands.add_parser("results", help="tables and figures from a sweep's results.json files")
    results.add_argument("sweep_dir", type=Path, help="a multirun folder (or any folder of runs)")
    results.add_argument("--out", type=Path, default=None, help="where to write (default: the sweep folder)")
    results.add_argument("--no-plots", action="store_true", help="tables only")
    compare = commands.add_parser("compare", help="each strategy vs a baseline: paired bootstrap, Holm")
    compare.add_argument("sweep_dir", type=Path, help="a sweep whose runs wrote prediction files")
    compare.add_argument("--baseline", default="fine_tune", help="the strategy to compare against")
    compare.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples")
    compare.add_argument("--out", type=Path, default=None, help="Markdown file (default: <sweep>/compare.md)")
    args = parser.parse_args(argv)
    if args.command == "compare":
        return run_compare(args.sweep_dir, args.baseline, args.resamples, args.out)
    try:
        written = build_report(args.sweep_dir, args.out, plots=not args.no_plots)
    except FileNotFoundError as err:
        print(f"nlp-transfer results: {err}", file=sys.stderr)
        return 2
    for path in written["markdown"]:
        print(path.read_text(encoding="utf-8"))
    for kind, paths in written.items():
        for path in paths:
            print(f"wrote {kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
